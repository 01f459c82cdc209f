"""The simulation: a plan's devices and timeline in a SimPy environment, changed only through `apply`."""

from engine.simulation.journal import Entry, Journal
from engine.simulation.simulation import Simulation

__all__ = ["Entry", "Journal", "Simulation"]
