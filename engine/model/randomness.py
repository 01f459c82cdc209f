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


def stream(seed: int, device_id: str, purpose: str) -> np.random.Generator:
    """An independent PCG64 generator for one purpose of one device."""
    digest = hashlib.sha256(f"iot-mock/v1/{seed}/{device_id}/{purpose}".encode()).digest()
    return np.random.Generator(np.random.PCG64(int.from_bytes(digest[:16], "big")))
