"""Chatti: an SMS platform that takes messages over HTTP and submits them over SMPP 3.4."""

__version__ = "0.1.0"
