"""REST latency under load: GET /api/v1/devices and POST .../command at 200 requests/s in total,
while 1,000 devices publish at 1 Hz (QoS 1) through a real Mosquitto. Prints p50/p99 per route.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx2 as httpx

sys.path.insert(0, str(Path(__file__).parent))
from mqtt_throughput import free_port, scenario, start_broker


async def load(base: str, seconds: float, rate: float) -> dict[str, list[float]]:
    latencies: dict[str, list[float]] = {"GET /api/v1/devices": [], "POST /api/v1/devices/{id}/command": []}
    limits = httpx.Limits(max_connections=1000)
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as client, asyncio.TaskGroup() as tasks:
        started = time.monotonic()
        for n in range(int(seconds * rate)):
            await asyncio.sleep(max(0.0, started + n / rate - time.monotonic()))  # absolute schedule
            tasks.create_task(_one(client, n, latencies))
    return latencies


async def _one(client: httpx.AsyncClient, n: int, latencies: dict[str, list[float]]) -> None:
    begin = time.perf_counter()
    if n % 2:
        response = await client.get("/api/v1/devices")
        route = "GET /api/v1/devices"
    else:
        command = "disable" if n % 4 else "enable"
        response = await client.post(f"/api/v1/devices/dev-{n % 1000:05d}/command", json={"command": command})
        route = "POST /api/v1/devices/{id}/command"
    response.raise_for_status()
    latencies[route].append((time.perf_counter() - begin) * 1000)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--rate", type=float, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        broker, mqtt_port = start_broker(folder)
        path = scenario(folder, 1000, "1s", stagger=True)
        port = free_port()
        env = {**os.environ, "IOT_MOCK_MQTT_URL": f"mqtt://127.0.0.1:{mqtt_port}", "IOT_MOCK_MQTT_EMBEDDED": "false",
               "IOT_MOCK_STATE_DB": str(folder / "devices.sqlite3")}  # fmt: skip
        service = subprocess.Popen(
            [sys.executable, "-m", "iot_mock", "serve", str(path), "--port", str(port)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while True:
                try:
                    if httpx.get(f"{base}/health", timeout=1).json()["mqtt"]["connected"]:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError("the service did not come up")
                time.sleep(0.2)
            latencies = asyncio.run(load(base, args.seconds, args.rate))
            status = httpx.get(f"{base}/api/v1/simulation/status").json()
        finally:
            service.terminate()
            service.wait(timeout=30)
            broker.terminate()
            broker.wait()
    for route, values in latencies.items():
        print(
            f"{route}: {len(values)} requests, p50 {percentile(values, 50):.1f} ms, p99 {percentile(values, 99):.1f} ms"
        )
    print(f"meanwhile: {status['delivered']:,} readings delivered, {status['dropped']} dropped, "
          f"publish lag p99 {status['lag_ms']['p99']} ms")  # fmt: skip


if __name__ == "__main__":
    main()
