"""A carrier SMSC on loopback for the demo, the tests and the benchmarks."""

from chatti.simulator.outcomes import ReceiptMix
from chatti.simulator.smsc import Simulator, SimulatorConfig, Stats

__all__ = ["ReceiptMix", "Simulator", "SimulatorConfig", "Stats"]
