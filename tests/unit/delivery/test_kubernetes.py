"""The Kubernetes manifests (container/k8s): every overlay renders with kustomize, validates against the
Kubernetes 1.33 schemas (strict: unknown fields fail), and says what docs/container.md claims."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest

from tests.unit.template.cfn import parameter_defaults, sam_template

from .kustomize import OVERLAYS, by_kind, rendered
from .tools import REPO_ROOT

K8S_VERSION = "1.33.0"  # the pinned kubectl's minor version


def container(kinds: dict[str, dict[str, Any]]) -> dict[str, Any]:
    (server,) = kinds["Deployment"]["spec"]["template"]["spec"]["containers"]
    return dict(server)


def settings(kinds: dict[str, dict[str, Any]]) -> dict[str, str]:
    data: dict[str, str] = kinds["ConfigMap"]["data"]
    return data


def cpus(quantity: str) -> float:
    return float(quantity[:-1]) / 1000 if quantity.endswith("m") else float(quantity)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_object_validates_strictly_against_the_kubernetes_schemas(overlay: str) -> None:
    import kubernetes_validate

    docs = rendered(overlay)
    checked = 0
    for doc in docs:
        if doc["apiVersion"].startswith("keda.sh/"):
            continue  # a CRD: no bundled schema (checked by test_keda_scales_on_the_request_rate...)
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
        checked += 1
    assert checked >= 6


def test_strict_validation_catches_a_misspelt_field() -> None:
    import kubernetes_validate

    deployment = copy.deepcopy(by_kind("prod")["Deployment"])
    server = deployment["spec"]["template"]["spec"]["containers"][0]
    server["readinesProbe"] = server.pop("readinessProbe")
    with pytest.raises(kubernetes_validate.ValidationError, match="readinesProbe"):
        kubernetes_validate.validate(deployment, K8S_VERSION, strict=True)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_probes_ask_health_and_the_pod_runs_locked_down(overlay: str) -> None:
    kinds = by_kind(overlay)
    pod = kinds["Deployment"]["spec"]["template"]["spec"]
    server = container(kinds)
    assert server["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert server[probe]["httpGet"] == {"path": "/health", "port": "http"}, probe
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 10001  # the Dockerfile's APP_UID
    assert server["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "privileged": False,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
    }
    assert pod["automountServiceAccountToken"] is False
    # the only writable path is the metrics directory's tmpfs
    assert [m["mountPath"] for m in server["volumeMounts"]] == ["/tmp"]
    env = {e["name"]: e["value"] for e in server["env"]}
    assert env["PROMETHEUS_MULTIPROC_DIR"].startswith("/tmp/")


def test_the_dockerfile_runs_as_the_uid_the_pod_requires() -> None:
    dockerfile = (REPO_ROOT / "container" / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^ARG APP_UID=10001$", dockerfile, re.MULTILINE)
    assert "USER ${APP_UID}:${APP_UID}" in dockerfile


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_shutdown_drains_within_the_grace_period(overlay: str) -> None:
    kinds = by_kind(overlay)
    pod = kinds["Deployment"]["spec"]["template"]["spec"]
    pause = int(container(kinds)["lifecycle"]["preStop"]["exec"]["command"][1])
    drain = int(settings(kinds)["GRACEFUL_TIMEOUT_SECONDS"])
    assert pod["terminationGracePeriodSeconds"] > pause + drain


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_one_configmap_feeds_the_server_and_one_worker_runs_per_cpu(overlay: str) -> None:
    kinds = by_kind(overlay)
    server = container(kinds)
    assert server["envFrom"] == [{"configMapRef": {"name": kinds["ConfigMap"]["metadata"]["name"]}}]
    resources = server["resources"]
    assert resources["requests"] == resources["limits"]  # Guaranteed QoS, no CFS throttling surprises
    assert int(settings(kinds)["WEB_CONCURRENCY"]) == cpus(resources["limits"]["cpu"])


# ConfigMap key -> the template.yaml parameter whose default it must equal (one source of truth).
FROM_TEMPLATE = {
    "THROTTLE_RATE": "ThrottleRateLimit",
    "THROTTLE_BURST": "ThrottleBurstLimit",
    "BATCH_THROTTLE_RATE": "BatchThrottleRateLimit",
    "BATCH_THROTTLE_BURST": "BatchThrottleBurstLimit",
    "DOCS_THROTTLE_RATE": "DocsThrottleRateLimit",
    "DOCS_THROTTLE_BURST": "DocsThrottleBurstLimit",
    "BATCH_MAX_ITEMS": "BatchMaxItems",
    "ORT_INTRA_OP_THREADS": "OrtIntraOpThreads",
    "POWERTOOLS_LOG_LEVEL": "LogLevel",
    "DECISION_LOG_FEATURES": "LogFeatures",
}


def test_throttling_and_model_settings_are_template_yamls_defaults() -> None:
    data = settings(by_kind("prod"))
    defaults = parameter_defaults(sam_template())
    assert {key: data[key] for key in FROM_TEMPLATE} == {key: defaults[p] for key, p in FROM_TEMPLATE.items()}
    function_env = sam_template()["Resources"]["ScoringFunction"]["Properties"]["Environment"]["Variables"]
    assert data["MODEL_DIR"] == function_env["MODEL_DIR"] == "/opt/model"


def test_the_server_reads_the_throttling_settings_as_given() -> None:
    from selfhosted.settings import Limit, ServerSettings

    for overlay in OVERLAYS:
        data = settings(by_kind(overlay))
        parsed = ServerSettings.from_env(data)
        assert parsed.workers == int(data["WEB_CONCURRENCY"])
        assert parsed.throttle is not None
        assert parsed.throttle.default == Limit(float(data["THROTTLE_RATE"]), int(data["THROTTLE_BURST"]))
        assert parsed.throttle.batch == Limit(float(data["BATCH_THROTTLE_RATE"]), int(data["BATCH_THROTTLE_BURST"]))
        assert parsed.throttle.docs == Limit(float(data["DOCS_THROTTLE_RATE"]), int(data["DOCS_THROTTLE_BURST"]))
        assert parsed.throttle.scope == data["THROTTLE_SCOPE"]
        assert parsed.max_body_bytes == int(data["MAX_BODY_BYTES"])
        assert parsed.keepalive_seconds == int(data["KEEPALIVE_SECONDS"])
        assert parsed.graceful_timeout_seconds == int(data["GRACEFUL_TIMEOUT_SECONDS"])


SERVER_SETTINGS = {
    "WEB_CONCURRENCY",
    "THROTTLE_RATE",
    "THROTTLE_BURST",
    "BATCH_THROTTLE_RATE",
    "BATCH_THROTTLE_BURST",
    "DOCS_THROTTLE_RATE",
    "DOCS_THROTTLE_BURST",
    "THROTTLE_SCOPE",
    "MAX_BODY_BYTES",
    "KEEPALIVE_SECONDS",
    "GRACEFUL_TIMEOUT_SECONDS",
}


def test_every_other_setting_is_read_by_the_app() -> None:
    """No dead keys: what ServerSettings does not parse (checked above), the app's code names."""
    import aws_lambda_powertools.shared.constants as powertools_constants

    sources = "".join(
        path.read_text(encoding="utf-8")
        for folder in ("function/fraud_api", "function/fraud_scoring")
        for path in (REPO_ROOT / folder).glob("*.py")
    )
    sources += Path(powertools_constants.__file__).read_text(encoding="utf-8")  # POWERTOOLS_LOG_LEVEL
    for overlay in OVERLAYS:
        app_keys = set(settings(by_kind(overlay))) - SERVER_SETTINGS
        assert app_keys
        assert [key for key in sorted(app_keys) if f'"{key}"' not in sources] == [], overlay


def cpu_seconds_per_request() -> float:
    """The self-hosted server's CPU per request, as BENCHMARKS.md measured it."""
    text = (REPO_ROOT / "BENCHMARKS.md").read_text(encoding="utf-8")
    match = re.search(r"the self-hosted server [0-9.]+ \((\d+) us of CPU per request", text)
    assert match, "BENCHMARKS.md no longer states the server's CPU per request"
    return int(match.group(1)) / 1e6


def requests_per_pod_at_target(cpu_limit: float, target_percent: float) -> float:
    return cpu_limit * target_percent / 100 / cpu_seconds_per_request()


def test_hpa_targets_cpu_and_keda_the_request_rate_at_the_same_load() -> None:
    prod = by_kind("prod")
    hpa = prod["HorizontalPodAutoscaler"]["spec"]
    (metric,) = hpa["metrics"]
    target = metric["resource"]["target"]["averageUtilization"]
    limit = cpus(container(prod)["resources"]["limits"]["cpu"])
    per_pod = requests_per_pod_at_target(limit, target)
    keda = by_kind("prod-keda")["ScaledObject"]["spec"]
    triggers = {t["type"]: t for t in keda["triggers"]}
    assert int(triggers["cpu"]["metadata"]["value"]) == target
    assert float(triggers["prometheus"]["metadata"]["threshold"]) == pytest.approx(per_pod, rel=0.05)
    assert "fraud_http_requests_total" in triggers["prometheus"]["metadata"]["query"]
    # headroom: the target leaves the pod at most 2/3 busy, so it can absorb a burst while pods start
    assert target <= 67


def test_keda_scales_on_the_request_rate_and_replaces_the_hpa() -> None:
    kinds = by_kind("prod-keda")
    assert "HorizontalPodAutoscaler" not in kinds  # KEDA makes its own; two would fight
    spec = kinds["ScaledObject"]["spec"]
    assert kinds["ScaledObject"]["apiVersion"] == "keda.sh/v1alpha1"
    assert spec["scaleTargetRef"] == {"name": kinds["Deployment"]["metadata"]["name"]}
    assert kinds["ScaledObject"]["metadata"]["namespace"] == kinds["Deployment"]["metadata"]["namespace"]
    prod_hpa = by_kind("prod")["HorizontalPodAutoscaler"]["spec"]
    assert (spec["minReplicaCount"], spec["maxReplicaCount"]) == (prod_hpa["minReplicas"], prod_hpa["maxReplicas"])


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_autoscaler_owns_the_replica_count_and_drains_keep_pods_serving(overlay: str) -> None:
    kinds = by_kind(overlay)
    assert "replicas" not in kinds["Deployment"]["spec"]
    if "HorizontalPodAutoscaler" in kinds:
        hpa = kinds["HorizontalPodAutoscaler"]["spec"]
        assert hpa["scaleTargetRef"]["name"] == kinds["Deployment"]["metadata"]["name"]
        minimum = hpa["minReplicas"]
    else:
        minimum = kinds["ScaledObject"]["spec"]["minReplicaCount"]
    pdb = kinds["PodDisruptionBudget"]["spec"]
    pod_labels = kinds["Deployment"]["spec"]["template"]["metadata"]["labels"]
    assert pdb["selector"]["matchLabels"].items() <= pod_labels.items()
    if minimum > 1:
        assert pdb["maxUnavailable"] < minimum


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_service_and_network_policy_select_the_pods(overlay: str) -> None:
    kinds = by_kind(overlay)
    pod_labels = kinds["Deployment"]["spec"]["template"]["metadata"]["labels"]
    assert kinds["Service"]["spec"]["selector"].items() <= pod_labels.items()
    assert kinds["Service"]["spec"]["ports"][0]["targetPort"] == "http"
    policy = kinds["NetworkPolicy"]["spec"]
    assert policy["podSelector"]["matchLabels"].items() <= pod_labels.items()
    assert policy["ingress"] == [{"ports": [{"port": 8080, "protocol": "TCP"}]}]
    assert policy["egress"] == []


def test_overlays_differ_in_namespace_size_and_image_only() -> None:
    dev, prod = by_kind("dev"), by_kind("prod")
    assert dev["Deployment"]["metadata"]["namespace"] == "fraud-scoring-dev"
    assert prod["Deployment"]["metadata"]["namespace"] == "fraud-scoring"
    assert container(prod)["image"].endswith("/fraud-scoring:server")
    assert prod["HorizontalPodAutoscaler"]["spec"]["minReplicas"] >= 3
    diff = {k for k in settings(prod) if settings(prod)[k] != settings(dev).get(k)}
    assert diff == {"WEB_CONCURRENCY", "POWERTOOLS_LOG_LEVEL"}
