"""Simulated hosting sites, served on loopback, for tests and `spreadtrace demo`. No real people's images."""

from simsites.world import START_PATHS, Plant, SimulatedWorld, running_world

__all__ = ["START_PATHS", "Plant", "SimulatedWorld", "running_world"]
