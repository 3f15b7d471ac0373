"""The deployment files, checked offline (no Docker engine or cluster here): the Dockerfile by
hadolint and by what it claims (multi-stage, pinned base, non-root, `glow` entry point, no
secrets); deploy/compose.yaml against the vendored compose-spec JSON schema and its
dependencies; the kustomization rendered by kubectl's kustomize and every object validated
strictly against Kubernetes' schemas (kubernetes-validate), then what the manifests promise
(probes on routes that exist, non-root, read-only roots, resources, settings by reference)."""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
import sys
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from dockerfile_parse import DockerfileParser

from api.access import PUBLIC
from api.access_rules import ACCESS_RULES
from api.operations_routes import OPERATIONS_ROUTES
from configuration.settings import VARIABLES, Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
GLOW = str(Path(sys.executable).parent / "glow")
K8S_VERSION = "1.32.0"
SECRET_NAME = re.compile(r"(KEY|SECRET|PASSWORD|TOKEN)", re.IGNORECASE)
GLOW_IMAGE = "registry.example.com/glowledger:0.1.0"  # the production overlay's


def test_hadolint_finds_nothing_in_the_dockerfile() -> None:
    hadolint = Path(sys.executable).parent / "hadolint"
    result = subprocess.run(
        [str(hadolint), "--no-color", str(ROOT / "Dockerfile")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_dockerfile_builds_a_wheel_then_a_slim_non_root_runtime_running_glow() -> None:
    parser = DockerfileParser(str(ROOT / "Dockerfile"))
    instructions = parser.structure
    stages = [i for i in instructions if i["instruction"] == "FROM"]
    assert [s["value"].split()[-1] for s in stages] == ["build", "runtime"]
    global_args = instructions[: instructions.index(stages[0])]
    declared = dict(i["value"].split("=", 1) for i in global_args if i["instruction"] == "ARG")
    base = declared["PYTHON_IMAGE"]
    assert re.fullmatch(r"python:3\.11\.\d+-slim-\w+@sha256:[0-9a-f]{64}", base), base
    assert all(s["value"].startswith("${PYTHON_IMAGE}") for s in stages)

    runtime = instructions[instructions.index(stages[-1]) :]
    users = [i["value"] for i in runtime if i["instruction"] == "USER"]
    assert users and users[-1].split(":")[0] not in ("0", "root"), users
    entrypoint = [i["value"] for i in runtime if i["instruction"] == "ENTRYPOINT"]
    assert [json.loads(e) for e in entrypoint] == [["glow"]]
    copies = [i["value"] for i in runtime if i["instruction"] in ("COPY", "ADD")]
    assert copies == ["--from=build /opt/glow /opt/glow"]  # no source, no build tools
    build = instructions[: instructions.index(stages[-1])]
    assert any("pip wheel" in i["value"] for i in build if i["instruction"] == "RUN")

    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["glow"] == "cli.main:main"
    for instruction in instructions:
        if instruction["instruction"] in ("ENV", "ARG"):
            for name in re.findall(r"(\w+)=", instruction["value"]):
                assert not SECRET_NAME.search(name), f"{name} baked into the image"


def test_the_build_context_holds_only_what_the_dockerfile_copies() -> None:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert patterns[0] == "*"  # everything out (.venv, var, .git, tests) ...
    allowed = {p.removeprefix("!").rstrip("/") for p in patterns if p.startswith("!")}
    parser = DockerfileParser(str(ROOT / "Dockerfile"))
    sources = set()
    for instruction in parser.structure:
        if instruction["instruction"] == "COPY" and "--from=" not in instruction["value"]:
            sources.update(s.rstrip("/") for s in instruction["value"].split()[:-1])
    assert sources == allowed  # ... but what is copied
    assert all((ROOT / source).exists() for source in sources)


@cache
def glow_accepts(arguments: tuple[str, ...]) -> bool:
    """Whether `glow` parses these arguments (its own parser, asked for --help)."""
    result = subprocess.run([GLOW, *arguments, "--help"], capture_output=True, text=True)
    return result.returncode == 0


# --- compose ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return document


def test_the_compose_file_is_valid_against_the_compose_specification(
    compose: dict[str, Any],
) -> None:
    schema = json.loads((DEPLOY / "compose-spec.schema.json").read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    jsonschema.Draft7Validator(schema).validate(compose)
    broken = copy.deepcopy(compose)
    broken["services"]["api"]["depends_on"]["migrate"]["condition"] = "service_finished"
    with pytest.raises(jsonschema.ValidationError):  # the schema does check conditions
        jsonschema.Draft7Validator(schema).validate(broken)


def test_the_compose_cluster_has_every_part_started_in_order_and_checked(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    assert {"postgres", "broker", "redis", "clickhouse"} <= set(services)
    glow = {name: s for name, s in services.items() if s.get("image", "").startswith("glowledger")}
    assert set(glow) == {
        "migrate", "writer", "api", "relay", "worker", "webhooks", "loyalty", "segments",
        "recommender",
    }  # fmt: skip
    for name, service in services.items():
        image = service["image"]
        assert ":" in image and not image.endswith(":latest"), f"{name}: {image} is not pinned"
        for dependency, condition in service.get("depends_on", {}).items():
            if condition["condition"] == "service_healthy":
                assert "healthcheck" in services[dependency], f"{name} waits on {dependency}"
    for name, service in glow.items():
        assert (ROOT / service["build"]["dockerfile"]).exists()
        assert glow_accepts(tuple(service["command"])), f"{name}: {service['command']}"
        assert service["read_only"] is True and "/tmp" in service["tmpfs"]
        if name != "migrate":
            assert service["depends_on"]["migrate"] == {
                "condition": "service_completed_successfully"
            }
    assert "/health/ready" in " ".join(glow["api"]["healthcheck"]["test"])
    # The APIs share the writer service, which is ready only while it leads.
    writer, api = glow["writer"]["environment"], glow["api"]["environment"]
    assert "9100/health/ready" in " ".join(glow["writer"]["healthcheck"]["test"])
    assert writer["GLOW_METRICS_PORT"] == "9100"
    assert api["GLOW_WRITER_URL"] == f"tcp://writer:{writer['GLOW_WRITER_LISTEN'].split(':')[1]}"
    assert api["GLOW_WRITER_SECRET"] == writer["GLOW_WRITER_SECRET"]
    assert glow["api"]["depends_on"]["writer"] == {"condition": "service_healthy"}
    for name, service in services.items():
        for variable, value in (service.get("environment") or {}).items():
            secret = SECRET_NAME.search(variable) or re.search(r"://[^/\s]+@", str(value))
            if secret:  # a password or key: only from the environment, never written here
                assert re.search(r"\$\{\w+:\?[^}]+\}", str(value)), f"{name}: {variable}"
            if variable.startswith("GLOW_"):
                assert variable in VARIABLES.values(), f"{name}: unknown setting {variable}"


# --- Kubernetes ------------------------------------------------------------------------------


def rendered(folder: str) -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.fail(
            "kubectl (with its kustomize) renders deploy/k8s: it is in this machine kind's "
            "image; install kubectl 1.27 or newer (Debian's kubernetes-client is too old)",
            pytrace=False,
        )
    result = subprocess.run(
        [kubectl, "kustomize", str(DEPLOY / "k8s" / folder)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@pytest.fixture(scope="module", params=["base", "overlays/production"])
def objects(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    return rendered(request.param)


def test_every_rendered_object_is_valid_for_kubernetes(objects: list[dict[str, Any]]) -> None:
    assert len(objects) >= 10
    for document in objects:
        kubernetes_validate.validate(document, K8S_VERSION, strict=True)
    deployment = next(d for d in objects if d["kind"] == "Deployment")
    broken = copy.deepcopy(deployment)
    broken["spec"]["template"]["spec"]["containers"][0]["readinessProbe"] = {"httpGet": "/"}
    with pytest.raises(kubernetes_validate.ValidationError):  # the validator does look
        kubernetes_validate.validate(broken, K8S_VERSION, strict=True)


def by_kind(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def test_every_workload_runs_glow_non_root_read_only_with_resources_and_settings_by_reference(
    objects: list[dict[str, Any]],
) -> None:
    workloads = {**by_kind(objects, "Deployment"), **by_kind(objects, "Job")}
    workloads |= {
        name: cron["spec"]["jobTemplate"] for name, cron in by_kind(objects, "CronJob").items()
    }
    assert set(workloads) == {
        "glow-api",
        "glow-writer",
        "glow-relay",
        "glow-worker",
        "glow-webhooks",
        "glow-loyalty",
        "glow-segments",
        "glow-recommender",
        "glow-migrate",
        "glow-planning",
    }
    config_maps = by_kind(objects, "ConfigMap")
    assert not by_kind(objects, "Secret")  # secrets are the operator's, never in the repo
    for name, workload in workloads.items():
        pod = workload["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] != 0
        assert pod["automountServiceAccountToken"] is False
        volumes = {v["name"] for v in pod["volumes"] if "emptyDir" in v}
        for container in [*pod.get("initContainers", []), *pod["containers"]]:
            assert container["image"].endswith("glowledger:0.1.0"), container["image"]
            assert glow_accepts(tuple(container["args"])), f"{name}: {container['args']}"
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True
            assert context["allowPrivilegeEscalation"] is False
            assert context["capabilities"]["drop"] == ["ALL"]
            mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
            assert mounts["/tmp"] in volumes  # the writer's socket, temporary files
            resources = container["resources"]
            assert {"cpu", "memory"} <= set(resources["requests"]), name
            assert "memory" in resources["limits"], name
            for variable in container.get("env", []):
                assert variable["name"] in VARIABLES.values(), f"{name}: {variable['name']}"
            sources = container["envFrom"]
            assert {"secretRef": {"name": "glow-secrets"}} in sources
            for source in sources:
                if "configMapRef" in source:
                    data = config_maps[source["configMapRef"]["name"]]["data"]
                    assert set(data) <= set(VARIABLES.values()), set(data) - set(VARIABLES.values())
                    assert not any(SECRET_NAME.search(key) for key in data)


def test_the_api_scales_out_on_cpu_and_its_probes_ask_the_public_health_routes(
    objects: list[dict[str, Any]],
) -> None:
    api = by_kind(objects, "Deployment")["glow-api"]
    container = api["spec"]["template"]["spec"]["containers"][0]
    routes = {route.path for route in OPERATIONS_ROUTES}
    probes = {
        kind: container[kind]["httpGet"]["path"]
        for kind in ("startupProbe", "livenessProbe", "readinessProbe")
    }
    assert probes == {
        "startupProbe": "/health/live",
        "livenessProbe": "/health/live",
        "readinessProbe": "/health/ready",
    }
    for path in probes.values():
        assert path in routes and ACCESS_RULES[("GET", path)] is PUBLIC  # probes carry no token
    # Every replica is ready while connected to the shared writer: rolling updates work,
    # one new replica at a time and none taken out before its successor is ready.
    assert api["spec"]["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
    }
    autoscaler = by_kind(objects, "HorizontalPodAutoscaler")["glow-api"]
    assert autoscaler["spec"]["scaleTargetRef"]["name"] == "glow-api"
    assert autoscaler["spec"]["minReplicas"] >= 2
    assert autoscaler["spec"]["maxReplicas"] > autoscaler["spec"]["minReplicas"]
    [metric] = autoscaler["spec"]["metrics"]
    assert metric["resource"]["name"] == "cpu"
    assert "cpu" in container["resources"]["requests"]  # utilisation is of the request
    service = by_kind(objects, "Service")["glow-api"]
    assert service["spec"]["selector"].items() <= container_labels(api).items()
    port_names = {p["name"] for p in container["ports"]}
    assert {p["targetPort"] for p in service["spec"]["ports"]} <= port_names


def test_one_writer_leads_behind_its_service_and_only_the_apis_reach_its_port(
    objects: list[dict[str, Any]],
) -> None:
    writer = by_kind(objects, "Deployment")["glow-writer"]
    spec = writer["spec"]
    # A leader and a standby; a new pod stands by while an old one leads, never ready, so a
    # rolling update would wait forever.
    assert spec["replicas"] == 2 and spec["strategy"] == {"type": "Recreate"}
    assert "glow-writer" not in {
        h["spec"]["scaleTargetRef"]["name"]
        for h in by_kind(objects, "HorizontalPodAutoscaler").values()
    }
    [container] = spec["template"]["spec"]["containers"]
    assert container["args"] == ["writer"]
    env = {v["name"]: v["value"] for v in container["env"]}
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    config = by_kind(objects, "ConfigMap")["glow-settings"]["data"]
    settings = Settings.from_env(
        {
            **config,
            **env,
            "GLOW_EVENT_STORE_URL": "postgresql://glow@db/glow",
            "GLOW_WRITER_SECRET": "x" * 32,
        }
    )
    host, port = settings.writer_listen_address()
    assert host == "0.0.0.0" and port == ports["writer"]  # reachable from other pods
    assert settings.metrics_port == ports["metrics"]
    probes = {
        kind: container[kind]["httpGet"]
        for kind in ("startupProbe", "livenessProbe", "readinessProbe")
    }
    assert {kind: (p["path"], p["port"]) for kind, p in probes.items()} == {
        "startupProbe": ("/health/live", "metrics"),
        "livenessProbe": ("/health/live", "metrics"),
        "readinessProbe": ("/health/ready", "metrics"),  # ready = holds the lock, listens
    }
    assert "GLOW_WRITER_SECRET" not in config  # the Secret's, never the ConfigMap's

    # The APIs find the leader through a Service of the writer's pods (ready ones only).
    service = by_kind(objects, "Service")["glow-writer"]
    assert service["spec"]["selector"].items() <= container_labels(writer).items()
    assert not service["spec"].get("publishNotReadyAddresses", False)
    [service_port] = service["spec"]["ports"]
    assert service_port["targetPort"] == "writer"
    name = service["metadata"]["name"]
    assert settings.writer_addresses() == [(name, service_port["port"])]

    [policy] = [
        p
        for p in by_kind(objects, "NetworkPolicy").values()
        if p["spec"]["podSelector"]["matchLabels"].items() <= container_labels(writer).items()
    ]
    api = by_kind(objects, "Deployment")["glow-api"]
    for rule in policy["spec"]["ingress"]:
        if {"port": "writer"} in rule["ports"]:
            [peer] = rule["from"]
            assert peer["podSelector"]["matchLabels"].items() <= container_labels(api).items()
        else:
            assert rule["ports"] == [{"port": "metrics"}]


def container_labels(workload: dict[str, Any]) -> dict[str, str]:
    labels: dict[str, str] = workload["spec"]["template"]["metadata"]["labels"]
    return labels


def test_the_recommender_follower_keeps_its_model_versions_on_a_volume_of_its_own(
    objects: list[dict[str, Any]], compose: dict[str, Any]
) -> None:
    """One follower (two would race for the serving pointer), its versions on a claim that
    outlives the pod (a restart continues from them), probed on its metrics port; in compose
    the same on a named volume, with a broker: the Faust agent's mode."""
    recommender = by_kind(objects, "Deployment")["glow-recommender"]
    spec = recommender["spec"]
    assert spec["replicas"] == 1 and spec["strategy"] == {"type": "Recreate"}
    pod = spec["template"]["spec"]
    [container] = pod["containers"]
    assert container["args"][:2] == ["recommend", "follow"]
    env = {v["name"]: v["value"] for v in container["env"]}
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    claims = {
        v["name"]: v["persistentVolumeClaim"]["claimName"]
        for v in pod["volumes"]
        if "persistentVolumeClaim" in v
    }
    assert claims[mounts[env["GLOW_MODEL_DIR"]]] in by_kind(objects, "PersistentVolumeClaim")
    assert pod["securityContext"]["fsGroup"] == pod["securityContext"]["runAsGroup"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert int(env["GLOW_METRICS_PORT"]) == ports["metrics"]
    assert container["readinessProbe"]["httpGet"] == {"path": "/health/ready", "port": "metrics"}
    config = by_kind(objects, "ConfigMap")["glow-settings"]["data"]
    assert config["GLOW_BROKER_URL"].startswith("kafka://")  # the Faust agent's mode

    service = compose["services"]["recommender"]
    directory = service["environment"]["GLOW_MODEL_DIR"]
    assert f"recommender-models:{directory}" in service["volumes"]
    assert "recommender-models" in compose["volumes"]
    assert "9100/health/ready" in " ".join(service["healthcheck"]["test"])
    runtime = (ROOT / "Dockerfile").read_text()
    assert f"--owner=10001 --group=10001 {directory}" in runtime  # the volume starts theirs


def test_autoscalers_and_disruption_budgets_point_at_workloads_that_exist(
    objects: list[dict[str, Any]],
) -> None:
    deployments = by_kind(objects, "Deployment")
    autoscalers = by_kind(objects, "HorizontalPodAutoscaler")
    targets = {h["spec"]["scaleTargetRef"]["name"] for h in autoscalers.values()}
    assert targets == {"glow-api", "glow-worker"}
    assert autoscalers["glow-worker"]["spec"]["maxReplicas"] <= 4  # the topics' partitions
    for autoscaler in autoscalers.values():
        assert autoscaler["spec"]["minReplicas"] >= 2
    budgets = by_kind(objects, "PodDisruptionBudget")
    assert set(budgets) == {"glow-api", "glow-worker", "glow-writer"}
    for budget in budgets.values():
        selector = budget["spec"]["selector"]["matchLabels"]
        matched = [
            d for d in deployments.values() if selector.items() <= container_labels(d).items()
        ]
        assert len(matched) == 1, budget["metadata"]["name"]
    worker = deployments["glow-worker"]["spec"]["strategy"]
    assert worker["type"] == "RollingUpdate" and worker["rollingUpdate"]["maxUnavailable"] == 0


def test_the_production_overlay_changes_what_it_says() -> None:
    objects = rendered("overlays/production")
    assert {o["metadata"].get("namespace") for o in objects} == {"glowledger"}
    api = by_kind(objects, "Deployment")["glow-api"]["spec"]["template"]["spec"]
    assert api["containers"][0]["image"] == GLOW_IMAGE
    assert api["containers"][0]["resources"]["limits"]["memory"] == "2Gi"
    settings = by_kind(objects, "ConfigMap")["glow-settings"]["data"]
    assert settings["GLOW_BROKER_URL"].startswith("kafka://kafka-0.")
    assert settings["GLOW_WEBHOOKS"] == "0"  # kept from the base
    assert by_kind(objects, "HorizontalPodAutoscaler")["glow-worker"]["spec"]["minReplicas"] == 3


def test_the_daily_plan_forecasts_before_it_replenishes_and_never_overlaps(
    objects: list[dict[str, Any]],
) -> None:
    cron = by_kind(objects, "CronJob")["glow-planning"]
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    pod = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    steps = [c["args"] for c in [*pod["initContainers"], *pod["containers"]]]
    assert steps == [["forecast", "run", "--quiet"], ["replenish"]]  # init containers run first
