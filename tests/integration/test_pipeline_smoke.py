"""The pipeline's smoke step (`pipeline/stage.sh smoke STAGE`) end to end, without AWS: a stand-in
`aws` CLI answers the stack outputs and the API key the way CloudFormation and API Gateway do, and
the stage is the local API Gateway emulator with `ApiKeyRequired=true`. The step must find the URL,
fetch the key, and pass k6's smoke thresholds; with a wrong key it must fail."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway_emulator.ports import free_port
from loadtest.payloads import write_payload_file

REPO_ROOT = Path(__file__).resolve().parents[2]
API_KEY = "smoke-test-key-0123456789"

FAKE_AWS = """#!{python}
# Records each call and answers like the AWS CLI with --output text.
import json, os, sys
args = sys.argv[1:]
with open(os.environ["FAKE_AWS_LOG"], "a") as log:
    log.write(json.dumps(args) + "\\n")
query = args[args.index("--query") + 1] if "--query" in args else ""
if args[:2] == ["cloudformation", "describe-stacks"]:
    outputs = {{"ApiUrl": os.environ["FAKE_API_URL"], "ApiKeyId": "key-id-1"}}
    name = query.split("OutputKey=='")[1].split("'")[0]
    print(outputs.get(name, "None"))
elif args[:2] == ["apigateway", "get-api-key"] and args[args.index("--api-key") + 1] == "key-id-1":
    print(os.environ["FAKE_API_KEY"])
else:
    sys.exit("unexpected aws call: " + " ".join(args))
"""


@pytest.fixture(scope="module")
def stage_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The emulator, API key required, on a free loopback port; stopped with its process group."""
    port = free_port()
    log = (tmp_path_factory.mktemp("emulator") / "emulator.log").open("w")
    emulator = subprocess.Popen(
        [
            *(sys.executable, "-m", "gateway_emulator", "--template", "template.yaml", "--host", "127.0.0.1"),
            *("--port", str(port), "--warm-pool", "1", "--api-key", API_KEY),
            *("--parameter-overrides", "ApiKeyRequired=true"),
        ],
        cwd=REPO_ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env={**os.environ, "MODEL_DIR": str(REPO_ROOT / "layers" / "model")},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                request = urllib.request.Request(f"{url}/health", headers={"x-api-key": API_KEY})
                with urllib.request.urlopen(request, timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            assert emulator.poll() is None, "the emulator exited"
            assert time.monotonic() < deadline, "the emulator did not answer /health within 60 s"
            time.sleep(0.2)
        yield url
    finally:
        os.killpg(emulator.pid, signal.SIGTERM)
        try:
            emulator.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(emulator.pid, signal.SIGKILL)
            emulator.wait()
        log.close()


def run_smoke(tmp_path: Path, url: str, api_key: str) -> tuple[subprocess.CompletedProcess[str], list[list[str]]]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "aws").write_text(FAKE_AWS.format(python=sys.executable), encoding="utf-8")
    (bin_dir / "aws").chmod(0o755)
    payloads = tmp_path / "payloads.json"
    write_payload_file(payloads, REPO_ROOT / "layers" / "model", count=200, seed=5)
    calls = tmp_path / "aws-calls.jsonl"
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "AWS_REGION": "eu-west-1",
        "FAKE_AWS_LOG": str(calls),
        "FAKE_API_URL": url,
        "FAKE_API_KEY": api_key,
        "LOADTEST_ARGS": f"--results {tmp_path / 'results'} --no-report -e PAYLOADS={payloads} -e ITERATIONS=40",
    }
    env.pop("API_KEY", None)
    done = subprocess.run(
        ["bash", "pipeline/stage.sh", "smoke", "staging"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
    )
    made = [json.loads(line) for line in calls.read_text(encoding="utf-8").splitlines()] if calls.exists() else []
    return done, made


def test_the_smoke_step_finds_the_stage_fetches_its_key_and_passes(tmp_path: Path, stage_url: str) -> None:
    done, calls = run_smoke(tmp_path, stage_url, API_KEY)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert f"smoke test of fraud-scoring-staging at {stage_url}" in done.stdout
    assert [c[:2] for c in calls] == [
        ["cloudformation", "describe-stacks"],
        ["cloudformation", "describe-stacks"],
        ["apigateway", "get-api-key"],
    ]
    assert all(c[c.index("--region") + 1] == "eu-west-1" for c in calls)
    assert calls[0][calls[0].index("--stack-name") + 1] == "fraud-scoring-staging"
    (run_dir,) = (tmp_path / "results").iterdir()
    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    assert summary["metrics"]["scored_latency"]["count"] == 40


def test_the_smoke_step_fails_when_the_stage_refuses_the_key(tmp_path: Path, stage_url: str) -> None:
    done, _ = run_smoke(tmp_path, stage_url, "not-the-key")
    assert done.returncode != 0
    assert 'status 403  body {\\"message\\":\\"Forbidden\\"}' in done.stdout + done.stderr
