"""SnapStart hooks of the Lambda handler, run by the real runtime code (awslambdaric's hook runner
and the snapshot-restore-py registry), in process: what AWS does at snapshot and restore time."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from types import ModuleType
from typing import Any

import pytest

from .tools import REPO_ROOT

# One child process per scenario: import the handler (Lambda's init), optionally run the runtime's
# before-snapshot and after-restore hooks, then answer one real request through the wrapped handler
# and report which modules that first request had to import.
CHILD = r"""
import collections, json, sys
warm = sys.argv[1] == "snapstart"
import fraud_api.lambda_handler as lambda_handler
if warm:
    from awslambdaric import lambda_runtime_hooks_runner
    lambda_runtime_hooks_runner.run_before_snapshot()   # at snapshot time
    lambda_runtime_hooks_runner.run_after_restore()     # in each restored environment
built_before = lambda_handler.app.middleware_stack is not None
event = json.load(open("events/predict_ok.json"))
class Context:
    function_name = "fraud-scoring"; memory_limit_in_mb = 1024; aws_request_id = "req-1"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:fraud-scoring:live"
def python_calls(fn):
    calls = collections.Counter()
    def profile(frame, kind, arg):
        if kind == "call":
            calls[frame.f_code] += 1
    sys.setprofile(profile)
    try:
        result = fn()
    finally:
        sys.setprofile(None)
    return result, calls
first, first_calls = python_calls(lambda: lambda_handler.handler(event, Context()))
second, second_calls = python_calls(lambda: lambda_handler.handler(event, Context()))
one_time = first_calls - second_calls
sys.stdout.flush()
print("RESULT " + json.dumps({
    "status": [first["statusCode"], second["statusCode"]],
    "middleware_built_before_first_request": built_before,
    "one_time_calls": sum(one_time.values()),
    "one_time_functions": sorted({"/".join(c.co_filename.split("/")[-2:]) + ":" + c.co_name for c in one_time}),
}))
"""


def first_request(mode: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    env = {
        **os.environ,
        "MODEL_DIR": str(REPO_ROOT / "layers" / "model"),
        "PYTHONPATH": f"{REPO_ROOT / 'function'}{os.pathsep}{REPO_ROOT}",
        "POWERTOOLS_SERVICE_NAME": "fraud-scoring",
        "POWERTOOLS_LOG_LEVEL": "INFO",
    }
    done = subprocess.run(
        [sys.executable, "-c", CHILD, mode], capture_output=True, text=True, timeout=120, env=env, cwd=REPO_ROOT
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    (result,) = [json.loads(line[7:]) for line in lines if line.startswith("RESULT ")]
    logs = [json.loads(line) for line in lines if line.startswith("{")]
    return result, logs


@pytest.fixture(scope="module")
def restored() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    return first_request("snapstart")


@pytest.fixture(scope="module")
def lambda_handler(lambda_module: ModuleType) -> ModuleType:
    return lambda_module


def test_the_hooks_are_registered_with_the_runtimes_library(lambda_handler: ModuleType) -> None:
    import snapshot_restore_py

    assert (lambda_handler.warm_up, (), {}) in snapshot_restore_py.get_before_snapshot()
    assert (lambda_handler.refresh_after_restore, (), {}) in snapshot_restore_py.get_after_restore()


def test_a_restored_environment_has_done_its_one_time_work_before_the_first_request(
    restored: tuple[dict[str, Any], list[dict[str, Any]]],
) -> None:
    result, _ = restored
    assert result["status"] == [200, 200]
    # Starlette builds its middleware stack on the first request it serves: here, at snapshot time.
    assert result["middleware_built_before_first_request"] is True
    assert not any("middleware" in name for name in result["one_time_functions"])


def test_without_the_warm_up_the_first_request_initialises_lazily(
    restored: tuple[dict[str, Any], list[dict[str, Any]]],
) -> None:
    """The checks above can fail: an environment that was not warmed does that work on its first request."""
    plain, _ = first_request("plain")
    assert plain["status"] == [200, 200]
    assert plain["middleware_built_before_first_request"] is False
    assert any("middleware" in name for name in plain["one_time_functions"])
    # what is left after the warm-up is per-invocation bookkeeping of the first real invocation
    assert restored[0]["one_time_calls"] < plain["one_time_calls"]


def test_the_warm_up_leaves_no_decision_line_and_no_metric_behind(
    restored: tuple[dict[str, Any], list[dict[str, Any]]],
) -> None:
    _, logs = restored
    (done,) = [line for line in logs if line.get("message") == "snapstart warm-up done"]
    assert done["requests"] == {"GET /health": 200, "POST /predict": 200, "POST /predict/batch": 200}
    decisions = [line for line in logs if line.get("message") == "decision"]
    assert len(decisions) == 2
    assert all(d["request_id"] != "snapstart-warmup" for d in decisions)
    emf = [line for line in logs if "_aws" in line]
    # the two real requests only, not the warm-up's three rows
    assert [line["Predictions"] for line in emf] == [[1.0], [1.0]] or [line["Predictions"] for line in emf] == [
        1.0,
        1.0,
    ]


def test_the_first_request_after_restore_is_logged_as_the_environments_cold_start(
    restored: tuple[dict[str, Any], list[dict[str, Any]]],
) -> None:
    _, logs = restored
    decisions = [line for line in logs if line.get("message") == "decision"]
    assert decisions[0]["cold_start"] is True
    assert decisions[0]["function_request_id"] == "req-1"


def test_after_restore_each_environment_gets_its_own_random_state(lambda_handler: ModuleType) -> None:
    random.seed(1234)  # the state every restored copy would share
    shared = random.random()
    random.seed(1234)
    lambda_handler.refresh_after_restore()
    assert random.random() != shared


def test_a_failing_warm_up_refuses_the_snapshot(monkeypatch: pytest.MonkeyPatch, lambda_handler: ModuleType) -> None:
    monkeypatch.setattr(lambda_handler, "asgi_handler", lambda event, context: {"statusCode": 500})
    with pytest.raises(RuntimeError, match="SnapStart warm-up failed"):
        lambda_handler.warm_up()
