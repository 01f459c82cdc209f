"""The image for real: built from the Dockerfile on a base made from Debian's packages, run beside a broker.

Needs a Docker daemon (`.ci/docker-up` starts one as root, and builds the base with
`deploy/docker/base-image`); where none can run, the test is skipped and says why.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.runtime.conftest import Mosquitto, free_port
from tests.runtime.mqtt_helpers import collect

# The first test also builds the image (and the base, where it is missing): minutes on a cold machine.
pytestmark = pytest.mark.timeout(1800)
ROOT = Path(__file__).parents[2]
BASE = "iot-mock-base:bookworm"
TOKEN = "container-test-token-0123"


def _docker(*args: str, timeout: float = 60, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DOCKER_BUILDKIT": "0"}  # Debian's daemon has no BuildKit builder here
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, check=check, env=env)


@pytest.fixture(scope="module")
def image() -> Iterator[str]:
    """The image built from the Dockerfile on the local base; removed after the tests."""
    if shutil.which("docker") is None or _docker("info", check=False).returncode != 0:
        pytest.skip("no Docker daemon here: as root, .ci/docker-up starts one (Debian's docker.io)")
    if _docker("image", "inspect", BASE, check=False).returncode != 0:
        if os.geteuid() != 0 or shutil.which("debootstrap") is None:
            pytest.skip(f"no {BASE} image, and it needs root and debootstrap: run deploy/docker/base-image")
        subprocess.run([str(ROOT / "deploy" / "docker" / "base-image"), BASE], check=True, timeout=900)
    tag = f"iot-mock:test-{secrets.token_hex(3)}"
    started = time.monotonic()
    build = _docker("build", "--network", "host", "--build-arg", f"BASE_IMAGE={BASE}", "-t", tag, str(ROOT),
                    timeout=900, check=False)  # fmt: skip
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    print(f"image built in {time.monotonic() - started:.1f} s")
    yield tag
    _docker("rmi", "-f", tag, check=False)
    _docker("image", "prune", "-f", "--filter", "label=iot-mock-stage=build", check=False)  # the build stages


def test_the_image_serves_healthy_as_non_root_and_publishes_readings(image: str, mosquitto: Mosquitto) -> None:
    started = time.monotonic()
    port, prefix = free_port(), f"container-{secrets.token_hex(3)}"
    settings = {"IOT_MOCK_MQTT_URL": mosquitto.url, "IOT_MOCK_TOPIC_PREFIX": prefix, "IOT_MOCK_API_PORT": str(port),
                "IOT_MOCK_API_TOKEN": TOKEN, "IOT_MOCK_MQTT_EMBEDDED": "false"}  # fmt: skip
    env = [arg for key, value in settings.items() for arg in ("-e", f"{key}={value}")]
    # No bridge network on these machines: the container shares the host's, loopback broker included.
    run = _docker("run", "-d", "--network", "host", "--health-interval", "1s", *env, image, "serve", "--speed", "20")
    container = run.stdout.strip()
    try:

        async def readings() -> list[dict[str, object]]:
            async with collect(mosquitto.port, f"{prefix}/devices/+/data") as got:
                await got.wait_for(lambda: len(got.messages) >= 10, timeout=60)
                return [m.json() for m in got.messages]

        assert {r["device_id"] for r in asyncio.run(readings())} >= {"mock-hvac-001"}
        deadline = time.monotonic() + 60
        while (health := _docker("inspect", "--format", "{{.State.Health.Status}}", container).stdout.strip()) != (
            "healthy"
        ):
            assert health in ("starting", "healthy") and time.monotonic() < deadline, health
            time.sleep(0.5)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as api:
            assert api.get("/health").json()["mqtt"]["connected"] is True
            assert api.get("/api/v1/devices").status_code == 401  # off loopback the token is required
            listed = api.get("/api/v1/devices", headers={"Authorization": f"Bearer {TOKEN}"})
            assert len(listed.json()) == 5
        assert _docker("exec", container, "id", "-u").stdout.strip() == "10001"
        tools = _docker("exec", container, "sh", "-c", "command -v gcc cc pip pytest ruff || true").stdout
        assert tools.strip() == ""  # no compiler, no pip, no test tooling in the final image
        _docker("stop", "--time", "15", container, timeout=30)
        state = json.loads(_docker("inspect", "--format", "{{json .State}}", container).stdout)
        assert state["ExitCode"] == 0  # SIGTERM: drained, offline, clean exit
        logs = _docker("logs", container).stderr
        assert "readings generated" in logs and "Traceback" not in logs
    finally:
        _docker("rm", "-f", container, check=False)
    print(f"container test took {time.monotonic() - started:.1f} s")


def test_the_image_refuses_to_serve_without_a_token(image: str) -> None:
    done = _docker("run", "--rm", "--network", "host", "-e", f"IOT_MOCK_API_PORT={free_port()}", image, check=False)
    assert done.returncode == 1
    assert done.stderr.strip() == "error: serving the API on 0.0.0.0 needs IOT_MOCK_API_TOKEN (16+ characters)"


def test_a_read_only_root_needs_only_a_writable_tmp(image: str) -> None:
    """Templates render in a worker process whose forkserver socket lives in the temporary directory."""
    run = ("run", "--rm", "--read-only", "--network", "none")
    rendered = _docker(*run, "--tmpfs", "/tmp", image, "run", "datacenter-day", "--duration", "1m", check=False)
    assert rendered.returncode == 0 and rendered.stdout.startswith('{"device_id":"rack-a01"')  # a templated file
    refused = _docker(*run, image, "run", "datacenter-day", "--duration", "1m", check=False)
    assert refused.returncode == 1 and refused.stdout == ""
    assert refused.stderr.startswith("error: ") and refused.stderr.strip().endswith(
        "datacenter-day.yaml: cannot start the template worker: No usable temporary directory found in "
        "['/tmp', '/var/tmp', '/usr/tmp', '/home/iot-mock'] (it needs a writable temporary directory)"
    )
