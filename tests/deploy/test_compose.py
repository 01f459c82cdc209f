"""compose.yaml and what it mounts (Mosquitto, Prometheus, Grafana), checked without a container runtime.

The images cannot be pulled here, so the stack is checked statically: the Compose Specification schema
(vendored, see compose-spec.NOTICE), the rules the stack relies on (healthy dependencies, one run as
shards, loopback ports, the token from the environment), a real Mosquitto on the committed config, and
the dashboard's queries against what the real app serves at /metrics. `docker compose config` runs too
where it is installed.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from iot_mock.args import build_parser
from tests.api.conftest import wait_until
from tests.deploy.compose_file import (
    COMPOSE,
    DEPLOY,
    ROOT,
    MissingVariable,
    interpolate,
    iot_mock_services,
    load_compose,
    mounts,
    ports,
    selectors,
    services,
)
from tests.runtime.conftest import free_port

SCHEMA = json.loads((Path(__file__).parent / "compose-spec.json").read_text())
TOKEN = "compose-test-token-0123456789"


@pytest.fixture
def compose() -> dict[str, Any]:
    """compose.yaml interpolated with only the required token set (every other variable at its default)."""
    data: dict[str, Any] = interpolate(load_compose(), {"IOT_MOCK_API_TOKEN": TOKEN})
    return data


def schema_errors(document: object) -> list[str]:
    validator = jsonschema.Draft7Validator(SCHEMA)
    return [f"{'/'.join(map(str, error.absolute_path))}: {error.message}" for error in validator.iter_errors(document)]


def test_compose_file_fits_the_compose_specification(compose: dict[str, Any]) -> None:
    jsonschema.Draft7Validator.check_schema(SCHEMA)
    assert schema_errors(load_compose()) == []
    assert schema_errors(compose) == []
    # The schema is strict, so a typo would not pass unseen.
    typo = copy.deepcopy(compose)
    typo["services"]["iot-mock"]["helthcheck"] = typo["services"]["iot-mock"].pop("healthcheck")
    assert schema_errors(typo) == ["services/iot-mock: 'helthcheck' does not match any of the regexes: '^x-'"]


def test_every_dependency_is_defined_and_waited_for_until_healthy(compose: dict[str, Any]) -> None:
    defined = services(compose)
    for name, service in defined.items():
        depends_on = service.get("depends_on", {})
        assert isinstance(depends_on, dict), f"{name}: depends_on must name a condition per dependency"
        for dependency, rule in depends_on.items():
            assert dependency in defined, f"{name} depends on undefined {dependency}"
            if "healthcheck" in defined[dependency]:
                assert rule["condition"] == "service_healthy", f"{name} must wait until {dependency} is healthy"
    for name, service in iot_mock_services(compose).items():
        assert service["depends_on"] == {"mosquitto": {"condition": "service_healthy"}}, name
    assert all("healthcheck" in service for service in defined.values())


def test_the_shards_run_one_scenario_with_one_start_and_cover_every_shard_once(compose: dict[str, Any]) -> None:
    shards = {name: s for name, s in iot_mock_services(compose).items() if "shards" in s.get("profiles", [])}
    assert sorted(shards) == ["iot-mock-shard-1", "iot-mock-shard-2", "iot-mock-shard-3"]
    single = services(compose)["iot-mock"]
    assert "profiles" not in single
    # Each command as the real `iot-mock` parses it (the image's entry point is `iot-mock`).
    parse = build_parser().parse_args
    alone = parse(single["command"])
    assert (alone.command, alone.scenario, alone.shard, alone.start) == ("serve", "default", None, None)
    runs = {name: parse(shard["command"]) for name, shard in shards.items()}
    assert {(args.command, args.scenario) for args in runs.values()} == {("serve", "default")}
    assert {name: args.shard for name, args in runs.items()} == {f"iot-mock-shard-{k}": (k, 3) for k in (1, 2, 3)}
    assert {args.start for args in runs.values()} == {datetime(2025, 8, 4, 0, 0)}
    # One variable moves every shard's start together.
    moved = interpolate(load_compose(), {"IOT_MOCK_API_TOKEN": TOKEN, "IOT_MOCK_SHARD_START": "2026-01-05T06:00"})
    assert {parse(moved["services"][name]["command"]).start for name in shards} == {datetime(2026, 1, 5, 6, 0)}
    # Apart from the command and its own port and volume, a shard is the single service.
    distinct = {"command", "profiles", "ports", "volumes"}
    for shard in shards.values():
        assert {k: v for k, v in shard.items() if k not in distinct} == {
            k: v for k, v in single.items() if k not in distinct
        }


def test_ports_are_published_on_loopback_only(compose: dict[str, Any]) -> None:
    published = {name: ports(service) for name, service in services(compose).items()}
    assert {port.host_ip for found in published.values() for port in found} == {"127.0.0.1"}
    assert [(p.published, p.target) for p in published["iot-mock"]] == [(8090, 8090)]
    assert [(p.published, p.target) for p in published["mosquitto"]] == [(1883, 1883)]
    hosts = [port.published for found in published.values() for port in found]
    assert len(hosts) == len(set(hosts)), "two services publish the same host port"


def test_the_token_comes_from_the_environment_or_compose_refuses(compose: dict[str, Any]) -> None:
    raw = load_compose()
    for name in iot_mock_services(compose):
        assert raw["services"][name]["environment"]["IOT_MOCK_API_TOKEN"].startswith("${IOT_MOCK_API_TOKEN:?"), name
        assert compose["services"][name]["environment"]["IOT_MOCK_API_TOKEN"] == TOKEN
    with pytest.raises(MissingVariable, match=r"IOT_MOCK_API_TOKEN .*set IOT_MOCK_API_TOKEN \(16\+ characters\)"):
        interpolate(raw, {})
    with pytest.raises(MissingVariable):
        interpolate(raw, {"IOT_MOCK_API_TOKEN": ""})
    # Prometheus gets the same token as a secret file, not in its committed config.
    assert compose["secrets"] == {"iot-mock-api-token": {"environment": "IOT_MOCK_API_TOKEN"}}
    assert compose["services"]["prometheus"]["secrets"] == ["iot-mock-api-token"]


def test_every_iot_mock_service_keeps_its_device_store_on_its_own_volume(compose: dict[str, Any]) -> None:
    volumes_used = []
    for name, service in iot_mock_services(compose).items():
        state_db = Path(service["environment"]["IOT_MOCK_STATE_DB"])
        on_volumes = [(target, source) for target, source in mounts(service).items() if state_db.is_relative_to(target)]
        assert len(on_volumes) == 1, f"{name}: {state_db} must be on one mounted volume"
        target, source = on_volumes[0]
        assert source in compose["volumes"] and target == "/home/iot-mock", name
        volumes_used.append(source)
    assert len(volumes_used) == len(set(volumes_used)), "two services share a device store"


def running_mosquitto(folder: Path, port: int) -> subprocess.Popen[bytes]:
    """Mosquitto on deploy/mosquitto/mosquitto.conf, moved to a loopback port and a folder of this test."""
    text = (DEPLOY / "mosquitto" / "mosquitto.conf").read_text()
    changes = {
        "listener 1883": f"listener {port} 127.0.0.1",
        "persistence_location /mosquitto/data/": f"persistence_location {folder}/",
    }
    for line, replacement in changes.items():
        assert text.count(f"\n{line}\n") == 1, f"mosquitto.conf: expected the line {line!r} once"
        text = text.replace(f"\n{line}\n", f"\n{replacement}\n")
    # As root, mosquitto would switch to its own user, which cannot read pytest's folders.
    config = folder / "mosquitto.conf"
    config.write_text(text + ("user root\n" if os.geteuid() == 0 else ""))
    log = (folder / "mosquitto.log").open("ab")
    executable = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    process = subprocess.Popen([executable, "-c", str(config)], stdout=log, stderr=log)
    log.close()
    return process


def listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
    except OSError:
        return False
    return True


def test_the_mosquitto_config_serves_the_compose_healthcheck(tmp_path: Path, compose: dict[str, Any]) -> None:
    port = free_port()
    process = running_mosquitto(tmp_path, port)
    try:
        # A config mosquitto refuses ends the process at once: say so with its log, without waiting.
        wait_until(lambda: process.poll() is not None or listening(port))
        assert process.poll() is None, (tmp_path / "mosquitto.log").read_text()
        # The compose healthcheck itself, against this broker.
        healthcheck = compose["services"]["mosquitto"]["healthcheck"]["test"]
        assert healthcheck[0] == "CMD" and healthcheck[healthcheck.index("-p") + 1] == "1883"
        command = [str(port) if arg == "1883" else arg for arg in healthcheck[1:]]
        result = subprocess.run(command, capture_output=True, timeout=10, check=False)
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith(b"mosquitto version 2.")
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert process.returncode == 0, (tmp_path / "mosquitto.log").read_text()
    assert (tmp_path / "mosquitto.db").exists(), "persistence is on: the broker saves its state on exit"
    assert mounts(compose["services"]["mosquitto"]) == {
        "/mosquitto/config/mosquitto.conf": "./deploy/mosquitto/mosquitto.conf",
        "/mosquitto/data": "mosquitto-data",
    }


def test_prometheus_scrapes_every_iot_mock_service_with_the_token(compose: dict[str, Any]) -> None:
    prometheus = compose["services"]["prometheus"]
    assert prometheus["profiles"] == ["monitoring"]
    assert mounts(prometheus)["/etc/prometheus/prometheus.yml"] == "./deploy/prometheus/prometheus.yml"
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    [job] = config["scrape_configs"]
    assert job["metrics_path"] == "/metrics"
    assert job["authorization"] == {"type": "Bearer", "credentials_file": "/run/secrets/iot-mock-api-token"}
    targets = [target for group in job["static_configs"] for target in group["targets"]]
    scraped = dict(target.rsplit(":", 1) for target in targets)
    assert len(scraped) == len(targets), "a service is scraped twice"
    assert set(scraped) == set(iot_mock_services(compose))
    for name, port in scraped.items():
        assert [p.target for p in ports(compose["services"][name])] == [int(port)], f"{name} serves the API on {port}"


def test_grafana_is_provisioned_with_the_prometheus_datasource_and_the_dashboard(compose: dict[str, Any]) -> None:
    grafana = compose["services"]["grafana"]
    assert grafana["profiles"] == ["monitoring"] and grafana["depends_on"] == {
        "prometheus": {"condition": "service_healthy"}
    }
    folders = {source: target for target, source in mounts(grafana).items()}
    assert folders["./deploy/grafana/provisioning"] == "/etc/grafana/provisioning"
    provisioning, dashboards = DEPLOY / "grafana" / "provisioning", DEPLOY / "grafana" / "dashboards"
    [datasource] = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text())["datasources"]
    assert datasource["type"] == "prometheus" and datasource["url"] == "http://prometheus:9090"
    assert [p.target for p in ports(compose["services"]["prometheus"])] == [9090]
    [provider] = yaml.safe_load((provisioning / "dashboards" / "iot-mock.yml").read_text())["providers"]
    assert provider["options"]["path"] == folders["./deploy/grafana/dashboards"]
    home = grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert home == f"{provider['options']['path']}/iot-mock.json"
    dashboard = json.loads((dashboards / "iot-mock.json").read_text())
    assert dashboard["uid"] == "iot-mock" and dashboard["panels"]
    for panel in dashboard["panels"]:
        sources = [panel["datasource"], *(target["datasource"] for target in panel["targets"])]
        assert all(source == {"type": "prometheus", "uid": datasource["uid"]} for source in sources), panel["title"]


def dashboard_exprs() -> Iterator[str]:
    dashboard = json.loads((DEPLOY / "grafana" / "dashboards" / "iot-mock.json").read_text())
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            yield target["expr"]


def test_the_dashboard_queries_only_series_that_metrics_serves(client: TestClient) -> None:
    def served() -> dict[str, list[dict[str, str]]]:
        series: dict[str, list[dict[str, str]]] = {}
        for family in text_string_to_metric_families(client.get("/metrics").text):
            for sample in family.samples:
                series.setdefault(sample.name, []).append(sample.labels)
        return series

    wait_until(lambda: "iot_mock_publish_lag_seconds" in served())
    series = served()
    used = set()
    for expr in dashboard_exprs():
        for selector in selectors(expr):
            assert selector.metric in series, f"{expr}: /metrics serves no {selector.metric}"
            wanted = dict(selector.labels)
            assert any(wanted.items() <= labels.items() for labels in series[selector.metric]), expr
            used.add(selector.metric + "".join(f'{{{k}="{v}"}}' for k, v in selector.labels))
    assert used >= {
        "iot_mock_readings_generated_total", "iot_mock_readings_delivered_total", "iot_mock_readings_dropped_total",
        "iot_mock_readings_buffered", 'iot_mock_publish_lag_seconds{quantile="0.5"}',
        'iot_mock_publish_lag_seconds{quantile="0.99"}', "iot_mock_publish_lag_max_seconds", "iot_mock_devices",
        "iot_mock_mqtt_connected", "iot_mock_behind_seconds",
    }  # fmt: skip
    exprs = " ".join(dashboard_exprs())
    assert "rate(iot_mock_readings_generated_total[" in exprs and "rate(iot_mock_readings_delivered_total[" in exprs


def test_the_selector_parser_rejects_what_it_cannot_check() -> None:
    assert selectors('sum by (instance) (rate(a_total[$__rate_interval])) / max(b{quantile="0.5"})') == [
        selectors("a_total")[0],
        selectors('b{quantile="0.5"}')[0],
    ]
    with pytest.raises(ValueError, match="unknown PromQL function 'histogram_quantil'"):
        selectors("histogram_quantil(0.9, a)")
    with pytest.raises(ValueError, match="only label"):
        selectors('a{job=~"iot.*"}')


def compose_command() -> list[str] | None:
    """`docker compose` or `docker-compose`, whichever is installed (the CLI alone; no daemon is needed)."""
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True, check=False).returncode == 0:
        return [docker, "compose"]
    standalone = shutil.which("docker-compose")
    return [standalone] if standalone else None


def test_docker_compose_accepts_the_file_and_refuses_it_without_a_token(tmp_path: Path) -> None:
    command = compose_command()
    if command is None:
        pytest.skip("neither `docker compose` nor `docker-compose` is installed: the file is checked statically only")
    empty = tmp_path / "empty.env"
    empty.write_text("")
    base = [*command, "--project-directory", str(ROOT), "-f", str(COMPOSE), "--env-file", str(empty)]
    env = {key: value for key, value in os.environ.items() if not key.startswith(("IOT_MOCK_", "COMPOSE_"))}
    every_profile = [*base, "--profile", "shards", "--profile", "monitoring", "config", "-q"]
    accepted = subprocess.run(every_profile, env={**env, "IOT_MOCK_API_TOKEN": TOKEN}, capture_output=True, text=True)
    assert accepted.returncode == 0, accepted.stderr
    refused = subprocess.run([*base, "config", "-q"], env=env, capture_output=True, text=True)
    assert refused.returncode != 0 and "set IOT_MOCK_API_TOKEN (16+ characters), e.g. in .env" in refused.stderr
