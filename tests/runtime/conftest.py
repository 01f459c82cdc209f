"""A real Mosquitto broker per test session, on a free loopback port, stopped by its PID."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_listening(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.02)
    raise TimeoutError(f"nothing listens on port {port} after {timeout}s")


@dataclass(kw_only=True)
class Broker:
    """A broker process on a loopback port of its own, stopped by its PID and startable again."""

    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@dataclass
class Mosquitto(Broker):
    """Mosquitto, with its configuration, persistence and log in `folder`."""

    folder: Path
    extra: str = ""

    def start(self) -> None:
        executable = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        config = self.folder / "mosquitto.conf"
        config.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
            f"persistence_location {self.folder}/\nmax_queued_messages 0\nmax_inflight_messages 0\n{self.extra}"
            # As root, mosquitto would switch to its own user, which cannot read pytest's folders.
            + ("user root\n" if os.geteuid() == 0 else "")
        )
        log = (self.folder / "mosquitto.log").open("ab")
        self.process = subprocess.Popen([executable, "-c", str(config)], stdout=log, stderr=log)
        log.close()
        wait_listening(self.port)


@pytest.fixture(scope="session")
def mosquitto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mosquitto]:
    broker = Mosquitto(tmp_path_factory.mktemp("mosquitto"))
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture
def own_mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    """A broker of this test's own, for tests that stop and restart it."""
    broker = Mosquitto(tmp_path)
    broker.start()
    yield broker
    broker.stop()


@dataclass
class Aedes(Broker):
    """aedes (Node.js), a second MQTT broker implementation, from tests/brokers (installed by ./dev test)."""

    def start(self) -> None:
        script = Path(__file__).parents[1] / "brokers" / "aedes.mjs"
        node = shutil.which("node") or "node"
        self.process = subprocess.Popen([node, str(script), str(self.port)], stdout=subprocess.DEVNULL)
        wait_listening(self.port)


@pytest.fixture(scope="session")
def aedes() -> Iterator[Aedes]:
    broker = Aedes()
    broker.start()
    yield broker
    broker.stop()
