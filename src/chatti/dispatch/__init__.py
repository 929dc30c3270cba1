"""Sending: claim accepted messages, route them, submit them over SMPP, record the proof."""
