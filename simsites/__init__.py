"""Simulated hosting sites, served on loopback, for tests and `spreadtrace demo`. No real people's images."""

from simsites.world import Plant, SimulatedWorld, running_world

__all__ = ["Plant", "SimulatedWorld", "running_world"]
