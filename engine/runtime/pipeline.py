"""A sink that writes on its own thread, so encoding and I/O overlap the simulation.

numpy and file writes release the GIL for most of their work, so on two cores a virtual run
simulates the next batch while the previous one is encoded and written. Order is kept (one
writer, a FIFO queue), and the queue is short, so memory stays bounded. Use it as a context
manager: leaving it drains the queue, joins the thread and re-raises a writer error.
"""

from __future__ import annotations

import queue
import threading
from types import TracebackType

from engine.model.readings import ReadingBatch, Sink, StatusChange

_STOP = None


class BackgroundSink:
    """Hands batches to `inner.write` on a worker thread, in order."""

    def __init__(self, inner: Sink, *, depth: int = 2) -> None:
        self.inner = inner
        self._queue: queue.Queue[tuple[ReadingBatch, list[StatusChange]] | None] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._work, name="iot-mock-writer", daemon=True)

    def __enter__(self) -> BackgroundSink:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self._queue.put(_STOP)
        self._thread.join()
        if self._error is not None and error is None:
            raise self._error

    def write(self, batch: ReadingBatch, statuses: list[StatusChange]) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put((batch, statuses))

    def _work(self) -> None:
        while (item := self._queue.get()) is not _STOP:
            if self._error is None:
                try:
                    self.inner.write(*item)
                except BaseException as exc:  # handed to the simulating thread, which re-raises it
                    self._error = exc
