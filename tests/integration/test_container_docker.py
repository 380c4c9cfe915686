"""Build both targets of container/Dockerfile with a Docker engine and call the running images.

Base images come from build arguments, taken from ``CONTAINER_TEST_LAMBDA_BASE`` and
``CONTAINER_TEST_SERVER_BASE`` (defaults: the Dockerfile's own). Nothing is pulled: the test is
skipped, saying why, when no engine answers or a base image is not present locally. A stand-in
Lambda base must behave like AWS's: ``LAMBDA_TASK_ROOT`` set, and an entry point that runs the
image's ``CMD`` handler under the runtime interface emulator on port 8080 (docs/container.md).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from container.build_context import make_context
from tests.container_recipe import REPO_ROOT, parse

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

DOCKER = shutil.which("docker")
INVOKE_PATH = "/2015-03-31/functions/function/invocations"


def docker(*args: str, timeout: float = 60, check: bool = True) -> subprocess.CompletedProcess[str]:
    assert DOCKER is not None
    return subprocess.run([DOCKER, *args], capture_output=True, text=True, timeout=timeout, check=check)


def base_images() -> dict[str, str]:
    defaults, _ = parse()
    return {
        "LAMBDA_BASE_IMAGE": os.environ.get("CONTAINER_TEST_LAMBDA_BASE") or defaults["LAMBDA_BASE_IMAGE"],
        "SERVER_BASE_IMAGE": os.environ.get("CONTAINER_TEST_SERVER_BASE") or defaults["SERVER_BASE_IMAGE"],
    }


def skip_reason() -> str | None:
    if DOCKER is None:
        return "no docker client on PATH"
    try:
        if docker("info", "--format", "{{.ServerVersion}}", timeout=20, check=False).returncode != 0:
            return "no Docker engine is running (start dockerd to build the images)"
    except subprocess.TimeoutExpired:
        return "the Docker engine does not answer"
    for arg, image in base_images().items():
        if docker("image", "inspect", image, check=False).returncode != 0:
            variable = "CONTAINER_TEST_LAMBDA_BASE" if arg.startswith("LAMBDA") else "CONTAINER_TEST_SERVER_BASE"
            return f"base image {image} ({arg}) is not present locally and is not pulled; set {variable}"
    return None


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    reason = skip_reason()
    if reason:
        pytest.skip(reason)
    context = make_context(tmp_path_factory.mktemp("docker") / "context")
    tag = f"fraud-scoring-test-{uuid.uuid4().hex[:8]}"
    built = {}
    build_args = [arg for name, image in base_images().items() for arg in ("--build-arg", f"{name}={image}")]
    try:
        for target in ("lambda", "server"):
            image = f"{tag}:{target}"
            result = docker(
                "build", "-f", str(context / "container" / "Dockerfile"), "--target", target, *build_args,
                "-t", image, str(context), timeout=1500, check=False,
            )  # fmt: skip
            assert result.returncode == 0, f"docker build --target {target} failed:\n{result.stdout[-4000:]}"
            built[target] = image
        yield built
    finally:
        for image in built.values():
            docker("rmi", "-f", image, check=False)


class Container:
    def __init__(self, image: str, *args: str) -> None:
        self.name = f"fraud-test-{uuid.uuid4().hex[:8]}"
        docker("run", "-d", "--name", self.name, "-p", "127.0.0.1::8080", *args, image)
        port = docker("port", self.name, "8080/tcp").stdout.strip().splitlines()[0].rsplit(":", 1)[1]
        self.base = f"http://127.0.0.1:{port}"

    def inspect(self, template: str) -> str:
        return docker("inspect", "-f", template, self.name).stdout.strip()

    def logs(self) -> str:
        result = docker("logs", self.name, check=False)
        return (result.stdout + result.stderr)[-4000:]

    def remove(self) -> None:
        docker("rm", "-f", self.name, check=False)


def request(url: str, body: bytes | None = None, timeout: float = 10) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=body, headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def wait_for(check: Any, timeout: float, what: str, container: Container) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"{what} within {timeout}s:\n{container.logs()}")


def test_lambda_image_answers_an_api_gateway_event(images: dict[str, str]) -> None:
    event = json.loads((REPO_ROOT / "events" / "predict_ok.json").read_text())
    container = Container(images["lambda"])
    try:
        answer: dict[str, Any] = {}

        def invoked() -> bool:
            status, body = request(container.base + INVOKE_PATH, json.dumps(event).encode(), timeout=30)
            answer.update(json.loads(body))
            return status == 200

        wait_for(invoked, 60, "the Lambda image did not answer an invocation", container)
        assert answer["statusCode"] == 200, answer
        scored = json.loads(answer["body"])
        assert 0.0 <= scored["fraud_score"] <= 1.0
        assert scored["model_version"]
    finally:
        container.remove()


def test_server_image_serves_as_a_non_root_healthy_process_and_stops_gracefully(images: dict[str, str]) -> None:
    container = Container(images["server"], "-e", "WEB_CONCURRENCY=2")
    try:
        wait_for(lambda: request(container.base + "/health")[0] == 200, 60, "no /health", container)
        row = [0.0] * 29 + [12.5]
        status, body = request(container.base + "/predict", json.dumps({"features": row}).encode())
        assert status == 200, body
        assert "fraud_score" in json.loads(body)
        status, body = request(container.base + "/metrics")
        assert status == 200
        assert b"fraud_predictions_total 1.0" in body
        assert docker("exec", container.name, "id", "-u").stdout.strip() != "0"
        wait_for(lambda: container.inspect("{{.State.Health.Status}}") == "healthy", 60, "not healthy", container)
        docker("stop", "-t", "30", container.name, timeout=60)
        assert container.inspect("{{.State.ExitCode}}") == "0", container.logs()
    finally:
        container.remove()
