"""MQTT throughput and real-time capacity, counted by an independent `mosquitto_sub`.

(a) `iot-mock run --speed max --mqtt`: messages per second delivered to a subscriber, QoS 0 and 1.
(b) real time: N devices at 1 Hz for 60 s (phases spread over the second, as real meters are):
    p50/p99 lag (publish minus due, from the run report) and loss (generated minus received).
A Mosquitto broker is started on a free loopback port for the run. `--quick` shortens both.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start_broker(folder: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    config = folder / "mosquitto.conf"
    config.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 0\nmax_inflight_messages 0\n"
    )
    executable = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    broker = subprocess.Popen([executable, "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return broker, port
        except OSError:
            time.sleep(0.05)
    raise TimeoutError("mosquitto did not start")


def scenario(folder: Path, devices: int, interval: str, stagger: bool) -> Path:
    path = folder / f"bench-{devices}.yaml"
    lines = ["version: 1", f"name: bench-{devices}", "start: 2025-08-04T00:00:00", "seed: 1", "devices:"]
    kinds = ["hvac", "lighting", "server", "industrial", "appliance"]
    lines += [f"  - {{id: dev-{i:05d}, kind: {kinds[i % 5]}, interval: {interval}}}" for i in range(devices)]
    if stagger:
        lines.insert(4, "stagger: true")
    path.write_text("\n".join(lines) + "\n")
    return path


def run(port: int, path: Path, duration: str, speed: str, qos: int, expected: int, folder: Path) -> dict[str, float]:
    prefix = f"bench{time.monotonic_ns()}"
    received = folder / "received.txt"
    with received.open("w") as out:
        subscriber = subprocess.Popen(
            ["mosquitto_sub", "-p", str(port), "-q", str(qos), "-t", f"{prefix}/devices/+/data", "-F", "%U",
             "-C", str(expected), "-W", "900"],
            stdout=out,
        )  # fmt: skip
        time.sleep(0.5)
        env = {**os.environ, "IOT_MOCK_TOPIC_PREFIX": prefix, "IOT_MOCK_MQTT_QOS": str(qos),
               "IOT_MOCK_OUTBOX_SIZE": "1000000", "IOT_MOCK_MQTT_EMBEDDED": "false"}  # fmt: skip
        report = folder / "report.json"
        command = [sys.executable, "-m", "iot_mock", "run", str(path), "--duration", duration, "--speed", speed,
                   "--mqtt", f"mqtt://127.0.0.1:{port}", "--report", str(report)]  # fmt: skip
        subprocess.run(command, env=env, check=True, stderr=subprocess.DEVNULL)
        try:
            subscriber.wait(timeout=30)
        except subprocess.TimeoutExpired:
            subscriber.terminate()
            subscriber.wait()
    stamps = [float(line) for line in received.read_text().split()]
    data = json.loads(report.read_text())
    mqtt = data["mqtt"]
    span = stamps[-1] - stamps[0] if len(stamps) > 1 else float("nan")
    return {
        "generated": mqtt["generated"],
        "received": len(stamps),
        "rate": (len(stamps) - 1) / span if span else 0.0,
        "p50": mqtt["lag_ms"]["p50"] or 0.0,
        "p99": mqtt["lag_ms"]["p99"] or 0.0,
        "dropped": mqtt["dropped"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", choices=["a", "b"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        broker, port = start_broker(folder)
        try:
            if args.only in (None, "a"):
                devices, hours = 1000, (2 if args.quick else 6)
                path = scenario(folder, devices, "10s", stagger=False)
                expected = devices * hours * 360
                for qos in (0, 1):
                    result = run(port, path, f"{hours}h", "max", qos, expected, folder)
                    print(f"(a) run --speed max --mqtt, QoS {qos}: {result['received']:,.0f}/{expected:,} received, "
                          f"{result['rate']:,.0f} msg/s")  # fmt: skip
            if args.only in (None, "b"):
                seconds = 20 if args.quick else 60
                for devices in (1000, 5000, 10000, 20000):
                    path = scenario(folder, devices, "1s", stagger=True)
                    expected = devices * seconds
                    result = run(port, path, f"{seconds}s", "1", 1, expected, folder)
                    loss = result["generated"] - result["received"]
                    print(f"(b) {devices:>6,} devices at 1 Hz, QoS 1, {seconds} s: p50 lag {result['p50']:.0f} ms, "
                          f"p99 lag {result['p99']:.0f} ms, {result['received']:,.0f}/{result['generated']:,.0f} "
                          f"received, loss {loss:,.0f}")  # fmt: skip
        finally:
            broker.terminate()
            broker.wait()


if __name__ == "__main__":
    main()
