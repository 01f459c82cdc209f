"""Seeded random streams, one per (seed, device id, purpose).

A stream's seed is a SHA-256 of its three names (never Python's salted `hash()`), so a device's
readings depend on nothing but the scenario seed and its own id: the same on every machine and in
every process, and unchanged when other devices are added or removed. Each purpose (power noise,
voltage noise, behaviour) has its own stream and draws a fixed count per reading, so readings do
not depend on how a run is cut into batches.
"""

from __future__ import annotations

import hashlib

import numpy as np
import numpy.typing as npt

_BLOCK = 32
"""Values drawn per refill: real time takes two per reading, and 20,000 meters keep a block each
(as a list of Python floats), so small blocks keep memory low at a refill every 16 readings."""


def stream(seed: int, device_id: str, purpose: str) -> np.random.Generator:
    """An independent PCG64 generator for one purpose of one device."""
    digest = hashlib.sha256(f"iot-mock/v1/{seed}/{device_id}/{purpose}".encode()).digest()
    return np.random.Generator(np.random.PCG64(int.from_bytes(digest[:16], "big")))


class Streams:
    """The streams of one device, by purpose, made when first asked (a fault's stream only if it happens)."""

    def __init__(self, seed: int, device_id: str) -> None:
        self.seed = seed
        self.device_id = device_id
        self._uniforms: dict[str, Uniforms] = {}

    def uniforms(self, purpose: str) -> Uniforms:
        found = self._uniforms.get(purpose)
        if found is None:
            found = self._uniforms[purpose] = Uniforms(stream(self.seed, self.device_id, purpose))
        return found


class Uniforms:
    """Uniform [0, 1) draws of one stream, handed out in order, drawn from numpy in blocks.

    Drawing n values in one call gives the same values as n calls of one, so the sequence is
    the same however it is taken; the blocks spare a numpy call per reading in real time.
    """

    def __init__(self, generator: np.random.Generator) -> None:
        self._generator = generator
        self._values: list[float] | None = None  # the array as Python floats, made when first asked
        self._array: npt.NDArray[np.float64] = np.empty(0)
        self._next = 0

    def _refill(self, n: int) -> None:
        rest = self._array[self._next :]
        drawn = self._generator.random(max(_BLOCK, n - len(rest)))
        self._array = np.concatenate((rest, drawn)) if len(rest) else drawn
        self._values = None
        self._next = 0

    def array(self, n: int) -> npt.NDArray[np.float64]:
        if self._next + n > len(self._array):
            self._refill(n)
        out = self._array[self._next : self._next + n]
        self._next += n
        return out

    def uniform(self, low: float, high: float) -> float:
        """One draw in [low, high): bit for bit numpy's `Generator.uniform(low, high)` (low + (high - low) * u),
        without its call overhead (a behaviour draws at every change of its factor)."""
        if self._next >= len(self._array):
            self._refill(1)
        if self._values is None:
            self._values = self._array.tolist()
        u = self._values[self._next]
        self._next += 1
        return low + (high - low) * u

    def values(self, n: int) -> list[float]:
        if self._next + n > len(self._array):
            self._refill(n)
        if self._values is None:
            self._values = self._array.tolist()
        out = self._values[self._next : self._next + n]
        self._next += n
        return out
