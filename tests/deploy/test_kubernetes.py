"""deploy/kubernetes: valid against the Kubernetes schemas, and in agreement with the CLI and its settings.

The schemas ship inside the kubernetes-validate package (no network). The agreement checks read
the manifests as Kubernetes would start their pods: the environment each pod gets (ConfigMap,
literal values, the downward API, the index), its arguments with `$(VAR)` expanded, then the real
argument parser, `--shard auto` and Settings.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from engine.runtime.settings import Settings
from engine.scenario.catalog import load_named
from engine.shards import COUNT_VARIABLE, INDEX_VARIABLES, SHARD_VARIABLE, chosen_shard
from iot_mock.args import build_parser

DEPLOY = Path(__file__).parents[2] / "deploy" / "kubernetes"
Resource = dict[str, Any]
RESOURCES: list[tuple[str, Resource]] = [
    (path.name, document)
    for path in sorted(DEPLOY.glob("*.yaml"))
    for document in yaml.safe_load_all(path.read_text())
    if document["kind"] != "Kustomization"
]
SHARD_VARIABLES = {SHARD_VARIABLE, COUNT_VARIABLE, *INDEX_VARIABLES}
"""Variables `--shard auto` reads: not Settings fields, but read by the CLI all the same."""
POD_INDEX_LABEL = "metadata.labels['apps.kubernetes.io/pod-index']"


def _one(kind: str) -> Resource:
    (resource,) = [resource for _, resource in RESOURCES if resource["kind"] == kind]
    return resource


def _container(workload: Resource) -> Resource:
    (container,) = workload["spec"]["template"]["spec"]["containers"]
    assert isinstance(container, dict)
    return container


def _literal_env(container: Resource, name: str) -> str:
    (value,) = [entry["value"] for entry in container["env"] if entry["name"] == name]
    assert isinstance(value, str)
    return value


@pytest.mark.parametrize("version", ["1.28", kubernetes_validate.latest_version()])
@pytest.mark.parametrize(("file", "resource"), RESOURCES, ids=[f"{f}:{r['kind']}" for f, r in RESOURCES])
def test_every_manifest_matches_the_kubernetes_schema(file: str, resource: Resource, version: str) -> None:
    # strict: an unknown or misspelt field is an error too, not silently dropped by the API server.
    kubernetes_validate.validate(resource, version, strict=True)


def test_the_kustomization_lists_files_that_exist() -> None:
    kustomization = yaml.safe_load((DEPLOY / "kustomization.yaml").read_text())
    assert kustomization["resources"] == ["settings.yaml", "services.yaml", "statefulset.yaml"]
    assert all((DEPLOY / name).is_file() for name in kustomization["resources"])


def test_each_workload_runs_as_many_shards_as_it_has_pods() -> None:
    job, statefulset = _one("Job")["spec"], _one("StatefulSet")["spec"]
    assert job["completionMode"] == "Indexed"
    assert job["completions"] == job["parallelism"] == int(_literal_env(_container(_one("Job")), COUNT_VARIABLE))
    assert statefulset["replicas"] == int(_literal_env(_container(_one("StatefulSet")), COUNT_VARIABLE))
    assert statefulset["podManagementPolicy"] == "Parallel"  # all shards start together


def _pod_environment(workload: Resource, index: int, *, labelled: bool = True) -> dict[str, str]:
    """The environment Kubernetes gives pod `index` of `workload`: what `--shard auto` and Settings read."""
    name = workload["metadata"]["name"]
    if workload["kind"] == "Job":
        orchestrator = {"JOB_COMPLETION_INDEX": str(index), "HOSTNAME": f"{name}-{index}"}
        pod_name = f"{name}-{index}-x7k2q"
    else:
        orchestrator = {"HOSTNAME": f"{name}-{index}"}
        pod_name = f"{name}-{index}"
    downward = {"metadata.name": pod_name, POD_INDEX_LABEL: str(index) if labelled else ""}
    container = _container(workload)
    environment = dict(orchestrator)
    settings = _one("ConfigMap")
    for source in container.get("envFrom", []):
        assert source["configMapRef"]["name"] == settings["metadata"]["name"]
        environment.update(settings["data"])
    for entry in container.get("env", []):
        if "value" in entry:
            environment[entry["name"]] = entry["value"]
        elif "fieldRef" in entry["valueFrom"]:
            environment[entry["name"]] = downward[entry["valueFrom"]["fieldRef"]["fieldPath"]]
        else:
            reference = entry["valueFrom"]["secretKeyRef"]
            secret = _one("Secret")
            assert reference["name"] == secret["metadata"]["name"] and reference["key"] in secret["stringData"]
            environment[entry["name"]] = "a-token-of-32-characters-or-so-0"
    return environment


def _arguments(workload: Resource, environment: dict[str, str]) -> list[str]:
    """The container's args as the kubelet expands them: `$(VAR)` from the container's environment."""
    arguments: list[str] = _container(workload)["args"]
    for argument in arguments:
        for name in re.findall(r"\$\((\w+)\)", argument):
            assert name in environment, f"{argument}: {name} is not in the container's environment"
    return [re.sub(r"\$\((\w+)\)", lambda m: environment[m.group(1)], argument) for argument in arguments]


@pytest.mark.parametrize(("kind", "labelled"), [("Job", True), ("StatefulSet", True), ("StatefulSet", False)])
def test_every_pod_runs_its_own_shard_of_the_same_run(kind: str, labelled: bool) -> None:
    workload = _one(kind)
    count = int(_literal_env(_container(workload), COUNT_VARIABLE))
    shards, runs = [], set()
    for index in range(count):
        environment = _pod_environment(workload, index, labelled=labelled)
        args = build_parser().parse_args(_arguments(workload, environment))
        assert args.shard == "auto"
        shards.append(chosen_shard(args.shard, environment))
        runs.add((args.command, args.scenario, args.start, getattr(args, "mqtt", None)))
    assert shards == [(k, count) for k in range(1, count + 1)]
    ((command, scenario, start, mqtt),) = runs  # every shard runs the same scenario from the same start
    assert command == {"Job": "run", "StatefulSet": "serve"}[kind]
    assert start is not None and start.tzinfo is not None
    assert len(load_named(scenario).plan.devices) >= count  # no shard is left without devices
    if kind == "Job":
        assert mqtt == _one("ConfigMap")["data"]["IOT_MOCK_MQTT_URL"]


@pytest.mark.parametrize("kind", ["Job", "StatefulSet"])
def test_the_pods_settings_are_ones_the_service_reads(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    environment = _pod_environment(_one(kind), 3)
    named = {name for name in environment if name.startswith("IOT_MOCK_")}
    known = {f"IOT_MOCK_{field.upper()}" for field in Settings.model_fields} | SHARD_VARIABLES
    assert named <= known, f"not settings iot-mock reads: {sorted(named - known)}"  # a typo would be ignored
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    settings = Settings(_env_file=None)
    assert settings.mqtt_client_id == {"Job": "iot-mock-history-3-x7k2q", "StatefulSet": "iot-mock-3"}[kind]
    assert settings.mqtt_embedded is False


def test_the_example_secret_fails_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    # Applied as shipped, serve refuses to start: the placeholder is shorter than a token may be.
    monkeypatch.setenv("IOT_MOCK_API_TOKEN", _one("Secret")["stringData"]["IOT_MOCK_API_TOKEN"])
    with pytest.raises(ValueError, match="at least 16 characters"):
        Settings(_env_file=None)


def test_the_live_shards_are_probed_and_served_on_the_api_port() -> None:
    statefulset = _one("StatefulSet")
    container = _container(statefulset)
    port = int(_one("ConfigMap")["data"]["IOT_MOCK_API_PORT"])
    assert container["ports"] == [{"name": "http", "containerPort": port}]
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/health", "port": "http"}
    labels = statefulset["spec"]["template"]["metadata"]["labels"]
    assert statefulset["spec"]["selector"]["matchLabels"] == labels
    services = {r["metadata"]["name"]: r["spec"] for _, r in RESOURCES if r["kind"] == "Service"}
    assert services[statefulset["spec"]["serviceName"]]["clusterIP"] == "None"  # headless: a name per pod
    for service in services.values():
        assert service["selector"] == labels and service["ports"][0]["targetPort"] == "http"


@pytest.mark.parametrize("kind", ["Job", "StatefulSet"])
def test_the_pods_run_unprivileged_on_a_read_only_root(kind: str) -> None:
    workload = _one(kind)
    pod, container = workload["spec"]["template"]["spec"], _container(workload)
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] == 10001
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert {"requests", "limits"} <= container["resources"].keys()
    mounts = [mount["mountPath"] for mount in container["volumeMounts"]]
    # Templated scenarios render in a worker whose forkserver socket lives in the temporary directory.
    tmp = next(mount["name"] for mount in container["volumeMounts"] if mount["mountPath"] == "/tmp")
    assert "emptyDir" in next(volume for volume in pod["volumes"] if volume["name"] == tmp)
    state_db = _pod_environment(workload, 0).get("IOT_MOCK_STATE_DB")
    if kind == "StatefulSet":  # the device store must be on a volume, the root being read-only
        assert state_db is not None and any(state_db.startswith(mount + "/") for mount in mounts)
