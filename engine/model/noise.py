"""Power noise as an Ornstein-Uhlenbeck process: slow wander around the load curve, not white noise.

A real load does not jump by a few per cent from one second to the next: it drifts. The noise of
a device is a state `z` that relaxes towards 0 with its kind's time constant `tau` and is pushed
by a seeded innovation `e` each reading (`e = u1 + u2 - 1` from the "power" stream's 2 uniforms
per reading, variance 1/6). Exact discretisation, whatever the time `dt` between two readings:

    a = exp(-dt / tau),    z_k = a * z_(k-1) + sqrt(1 - a^2) * e_k

so the stationary spread of `z` is that of `e` at every interval (a 1 s and a 10 s meter on the
same load look alike), consecutive 1 s readings are correlated by `a`, and the first reading of a
device (its start or creation) draws `z = e` from the stationary spread. The load multiplies its
level by `1 + noise * z`, so a device's `noise` keeps its meaning: +-noise at most, noise/sqrt(6)
standard deviation.

The recursion is sequential, and numpy has no compiled loop for `a*z + c`; it does have
sequential `add.accumulate`. So readings at the device's interval are grouped in blocks of `L`
(counted from the device's first reading, so the blocks do not depend on batch cuts), and within
a block the same recursion is written as `z_m = a^m * (z_0 + sum_j (b * e_j) * a^-j)` with the
powers from one table: many readings take one `add.accumulate` per chunk (blocks as rows), a few
do the very same additions and multiplications in Python floats, which IEEE 754 makes
bit-identical (tests/engine/test_noise.py holds them to it). `L` keeps `a^-L` below e^10, so the
block form is as accurate as the plain recursion to about 1e-12. A gap that is not the interval
(the first reading after `set_interval`, an extra `read_now`) takes one plain step with its own
`a` and starts a new block; so do intervals longer than `tau * LOG_RANGE / 2` (each a block).
"""

from __future__ import annotations

import functools
import math

import numpy as np

from engine.model.readings import FloatArray

_SAME_GAP = 1e-6
"""Gaps within this many seconds of the interval are the interval (k * interval + anchor rounds)."""
LOG_RANGE = 10.0
"""A block spans at most `tau * LOG_RANGE` seconds: its largest power a^-L stays below e^10."""


@functools.lru_cache(maxsize=256)
def _coefficients(gap: float, tau: float) -> tuple[float, float]:
    a = math.exp(-gap / tau)
    return a, math.sqrt(1.0 - a * a)


@functools.lru_cache(maxsize=64)
def _table(interval: float, tau: float) -> tuple[list[float], list[float], FloatArray, FloatArray]:
    """Powers a^m and a^-m for m = 0..L, as lists and arrays (the same values)."""
    a, _ = _coefficients(interval, tau)
    length = max(1, min(1 << 16, int(LOG_RANGE * tau / interval)))
    up, down = [1.0], [1.0]
    for _ in range(length):
        up.append(up[-1] * a)
        down.append(down[-1] / a)
    return up, down, np.array(up), np.array(down)


class Wander:
    """The noise state of one device's power, carried across chunks, interval changes and respecs."""

    def __init__(self, tau: float) -> None:
        self.tau = tau
        self.z: float | None = None
        """None before the first reading: that one draws from the stationary spread."""
        self.last_t = 0.0
        # The block in progress: its start value, the sum so far, the readings in it, their interval.
        self._base = 0.0
        self._sum = 0.0
        self._m = 0
        self._interval = 0.0
        self._steps: tuple[list[float], list[float], float, int] = ([], [], 0.0, 0)
        self._steps_of = 0.0
        """The interval `_steps` (powers, push scale, block length) are for, kept for the float path."""

    def _restart(self, z: float, interval: float) -> float:
        self.z, self._base, self._sum, self._m, self._interval = z, z, 0.0, 0, interval
        return z

    def _plain(self, gap: float, e: float, interval: float) -> float:
        """One step that starts a block: the first reading, or a gap other than the interval."""
        if self.z is None:
            return self._restart(e, interval)
        a, b = _coefficients(gap, self.tau)
        return self._restart(a * self.z + b * e, interval)

    def _regular(self, gap: float, interval: float) -> bool:
        return self.z is not None and self._interval == interval and abs(gap - interval) <= _SAME_GAP

    def at(self, times: list[float], u: list[float], interval: float) -> list[float]:
        """`z` at a few readings `times` (ascending, after the last one), with Python floats.

        `u` holds the 2 uniforms of each reading (the innovation is `u1 + u2 - 1`).
        """
        if interval != self._steps_of:
            up, down, _, _ = _table(interval, self.tau)
            self._steps, self._steps_of = (up, down, _coefficients(interval, self.tau)[1], len(up) - 1), interval
        up, down, b, length = self._steps
        z, base, total, m, last = self.z, self._base, self._sum, self._m, self.last_t
        blocks = self._interval == interval and length >= 2
        out = []
        i = 0
        for t in times:
            e = u[i] + u[i + 1] - 1.0
            i += 2
            gap = t - last
            if z is None:
                z, base, total, m, blocks = e, e, 0.0, 0, length >= 2
            elif not blocks or abs(gap - interval) > _SAME_GAP:
                a, b_gap = _coefficients(gap, self.tau)
                z = a * z + b_gap * e
                base, total, m, blocks = z, 0.0, 0, length >= 2
            else:
                if m == length:
                    base, total, m = z, 0.0, 0
                m += 1
                total = total + (b * e) * down[m]
                z = up[m] * (base + total)
            out.append(z)
            last = t
        self.z, self._base, self._sum, self._m, self.last_t, self._interval = z, base, total, m, last, interval
        return out

    def over(self, t: FloatArray, u: FloatArray, interval: float) -> FloatArray:
        """`at` for many readings, with numpy: the same operations on blocks of readings at once."""
        n = len(t)
        up_list, _, up, down = _table(interval, self.tau)
        length = len(up_list) - 1
        if length < 2:  # an interval of many time constants: every step is plain (few readings)
            return np.array(self.at(t.tolist(), u.tolist(), interval))
        _, b = _coefficients(interval, self.tau)
        e = u[0::2] + u[1::2] - 1.0
        out = np.empty(n)
        # A device's chunk is its slots k * interval + anchor: regular unless the span says otherwise.
        regular = n < 2 or abs(float(t[-1] - t[0]) - (n - 1) * interval) <= _SAME_GAP
        breaks = [] if regular else (np.flatnonzero(np.abs(np.diff(t) - interval) > _SAME_GAP) + 1).tolist()
        start = 0
        for stop in (*breaks, n):
            if not self._regular(float(t[start]) - self.last_t, interval):
                out[start] = self._plain(float(t[start]) - self.last_t, float(e[start]), interval)
                self.last_t = float(t[start])
                start += 1
            if stop > start:
                out[start:stop] = self._blocks(b * e[start:stop], up, down, length)
                self.last_t = float(t[stop - 1])
            start = stop
        return out

    def _blocks(self, c: FloatArray, up: FloatArray, down: FloatArray, length: int) -> FloatArray:
        """Regular steps with pushes `c = b * e`: the rest of the block in progress, whole blocks, a tail."""
        out = np.empty(len(c))
        head = min(len(c), length - self._m)
        done = 0
        if head:
            out[:head] = self._part(c[:head], up, down)
            done = head
        whole = (len(c) - done) // length
        if whole:
            base = self.z if self.z is not None else self._base
            rows = c[done : done + whole * length].reshape(whole, length) * down[1:]
            sums = np.add.accumulate(np.concatenate((np.zeros((whole, 1)), rows), axis=1), axis=1)[:, 1:]
            bases = []
            for last in sums[:, -1].tolist():
                bases.append(base)
                base = up_last = float(up[length]) * (base + last)
            out[done : done + whole * length] = (up[1:] * (np.array(bases)[:, None] + sums)).ravel()
            self.z, self._base, self._sum, self._m = up_last, bases[-1], float(sums[-1, -1]), length
            done += whole * length
        if done < len(c):
            out[done:] = self._part(c[done:], up, down)
        return out

    def _part(self, c: FloatArray, up: FloatArray, down: FloatArray) -> FloatArray:
        """Steps within one block (a new one if the current is full)."""
        if self._m == len(up) - 1:
            self._restart(self.z if self.z is not None else self._base, self._interval)
        m = self._m
        sums = np.add.accumulate(np.concatenate(([self._sum], c * down[m + 1 : m + 1 + len(c)])))[1:]
        z = up[m + 1 : m + 1 + len(c)] * (self._base + sums)
        self.z, self._sum, self._m = float(z[-1]), float(sums[-1]), m + len(c)
        return z
