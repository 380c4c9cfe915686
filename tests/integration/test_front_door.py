"""What a new user meets first, checked with the clients users have.

- ``/docs`` from ``make serve`` renders in headless Chromium with every outside address unresolvable,
  and lists the operations; below a stage prefix (``/v1/docs``, as on a deployed REST API) too.
- "Try it out" keeps the page's prefix (the request interceptor, run by Node).
- Schemathesis, with its checks, finds no difference between the published schema and what the API
  does, through the emulator (API Gateway semantics) and the self-hosted server.
- The self-hosted server gives every request an id, in a header, the error body and the log.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from fraud_api import docs_page
from gateway_emulator.ports import free_port
from tests.integration.emulator_harness import ROOT, Emulator, run_emulator
from tests.integration.selfhosted_server import SelfHostedServer

OPERATIONS = {"/predict", "/predict/batch", "/health", "/model"}
STAGE = "/v1"


def _tool(name: str, *aliases: str) -> str:
    """The tool's path; a missing tool skips locally but fails in CI (`make test` installs it)."""
    found = next((path for path in map(shutil.which, (name, *aliases)) if path), None)
    if found is None:
        message = f"{name} is not installed (`make chromium` / `make node` installs it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    # The docs routes allow 10 req/s with a burst of 20 in template.yaml; Schemathesis sends more.
    overrides = ("--parameter-overrides", "DocsThrottleRateLimit=1000", "DocsThrottleBurstLimit=1000")
    with run_emulator(
        tmp_path_factory.mktemp("front-door"), "--warm-pool", "1", *overrides, template=ROOT / "template.yaml"
    ) as emu:
        yield emu


class _StageProxy(BaseHTTPRequestHandler):
    """A deployed REST API stage in miniature: ``/v1/<path>`` reaches the API's ``/<path>``."""

    upstream = ""

    def do_GET(self) -> None:
        if not self.path.startswith(STAGE + "/"):
            self._answer(403, b'{"message":"Missing Authentication Token"}', "application/json")
            return
        try:
            with urllib.request.urlopen(self.upstream + self.path[len(STAGE) :], timeout=10) as upstream:
                self._answer(upstream.status, upstream.read(), upstream.headers["content-type"])
        except urllib.error.HTTPError as error:
            self._answer(error.code, error.read(), error.headers["content-type"])

    def _answer(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def stage_url(emulator: Emulator) -> Iterator[str]:
    handler = type("Proxy", (_StageProxy,), {"upstream": emulator.url})
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}{STAGE}"
    server.shutdown()
    server.server_close()


def rendered_paths(url: str, tmp_path: Path) -> set[str]:
    """The operation paths Swagger UI rendered, read from the DOM headless Chromium produced."""
    chromium = _tool("chromium", "chromium-browser", "google-chrome")
    command = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'chromium'}",
        # No network: every host but 127.0.0.1 fails to resolve, so a CDN asset would not load.
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        "--virtual-time-budget=20000",
        f"--screenshot={tmp_path / 'docs.png'}",
        "--window-size=1200,900",
        url,
    ]
    subprocess.run(command, capture_output=True, timeout=120, check=False)
    dom = subprocess.run(
        [*command[:-3], "--dump-dom", url], capture_output=True, text=True, timeout=120, check=True
    ).stdout
    return set(re.findall(r'class="opblock-summary-path" data-path="([^"]+)"', dom))


def test_docs_render_offline_in_a_real_browser(emulator: Emulator, tmp_path: Path) -> None:
    assert rendered_paths(f"{emulator.url}/docs", tmp_path) == OPERATIONS
    assert (tmp_path / "docs.png").stat().st_size > 10_000  # a page was painted, not a blank one


def test_docs_render_below_a_stage_prefix(stage_url: str, tmp_path: Path) -> None:
    # The proxy answers 403 outside /v1: the page only works if every URL on it is relative.
    assert rendered_paths(f"{stage_url}/docs", tmp_path) == OPERATIONS


def test_docs_page_and_assets_need_no_outside_address(emulator: Emulator) -> None:
    page = httpx.get(f"{emulator.url}/docs").text
    assert not re.search(r"(src|href)=\"(https?:)?//", page)
    for name, (_, media_type) in docs_page.ASSETS.items():
        answer = httpx.get(f"{emulator.url}/docs", params={"asset": name})
        assert answer.status_code == 200
        assert answer.headers["content-type"] == media_type
        assert len(answer.content) > 10_000
    missing = httpx.get(f"{emulator.url}/docs", params={"asset": "../../etc/passwd"})
    assert missing.status_code == 404
    assert missing.json()["error"] == "not_found"


@pytest.mark.parametrize(
    ("page", "request_url", "sent_to"),
    [
        ("http://h/v1/docs", "http://h/predict", "http://h/v1/predict"),
        ("http://h/v1/docs", "http://h/v1/predict", "http://h/v1/predict"),
        ("http://h/docs", "http://h/predict", "http://h/predict"),
        ("http://h/base/path/docs", "http://h/model?x=1", "http://h/base/path/model?x=1"),
    ],
)
def test_try_it_out_keeps_the_page_prefix(page: str, request_url: str, sent_to: str) -> None:
    node = _tool("node")
    script = (
        f"const location = new URL({json.dumps(page)});\n"
        "globalThis.window = {location};\n"
        f"const keep = {docs_page.KEEP_PREFIX};\n"
        f"process.stdout.write(keep({{url: {json.dumps(request_url)}}}).url);\n"
    )
    result = subprocess.run([node, "-e", script], capture_output=True, text=True, timeout=30, check=True)
    assert result.stdout == sent_to


def _schemathesis(schema_url: str, base_url: str, *checks: str) -> subprocess.CompletedProcess[str]:
    st = Path(os.environ.get("VIRTUAL_ENV", ROOT / ".venv")) / "bin" / "st"
    command = [
        str(st if st.exists() else shutil.which("st") or "st"),
        "--config-file",
        str(Path(__file__).with_name("schemathesis.toml")),
        "run",
        schema_url,
        "--url",
        base_url,
        "--max-examples",
        "40",
        "--request-timeout",
        "10",
        "--generation-deterministic",
        *checks,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)


def _failures(output: str) -> str:
    """Schemathesis' report without the request bodies it reproduces (a batch can be 200 kB)."""
    return "\n".join(line[:300] for line in output.splitlines() if not line.lstrip().startswith("curl "))[-8000:]


def test_schemathesis_finds_no_mismatch_through_the_emulator(emulator: Emulator) -> None:
    # Every check but one: an undeclared method (TRACE /predict) is answered by API Gateway with
    # 403 Missing Authentication Token, not 405, and the emulator answers as API Gateway does.
    result = _schemathesis(
        f"{emulator.url}/openapi.json", emulator.url, "--checks", "all", "--exclude-checks", "unsupported_method"
    )
    assert result.returncode == 0, _failures(result.stdout)


def test_schemathesis_finds_no_mismatch_on_the_self_hosted_server(
    tmp_path_factory: pytest.TempPathFactory, model_dir: Path
) -> None:
    server = SelfHostedServer(
        tmp_path_factory.mktemp("selfhosted-schemathesis"),
        model_dir,
        {"DOCS_THROTTLE_RATE": "1000", "DOCS_THROTTLE_BURST": "1000"},
    )
    server.start()
    try:
        result = _schemathesis(f"{server.base_url}/openapi.json", server.base_url, "--checks", "all")
    finally:
        server.stop()
    assert result.returncode == 0, _failures(result.stdout)


def test_self_hosted_requests_carry_an_id_in_header_body_and_log(
    tmp_path_factory: pytest.TempPathFactory, model_dir: Path
) -> None:
    server = SelfHostedServer(tmp_path_factory.mktemp("selfhosted-ids"), model_dir, {"MAX_BODY_BYTES": "2048"})
    server.start()
    try:
        refused = httpx.post(f"{server.base_url}/predict", json={"features": []})
        too_big = httpx.post(f"{server.base_url}/predict", content=b"{" + b" " * 4096 + b"}")
        scored = httpx.post(f"{server.base_url}/predict", json={"features": [0.1] * 30})
        given = httpx.post(f"{server.base_url}/predict", json={"features": []}, headers={"x-request-id": "mine-1"})
    finally:
        server.stop()
    for answer in (refused, too_big):
        request_id = answer.headers["x-request-id"]
        assert re.fullmatch(r"[0-9a-f]{32}", request_id)
        assert answer.json()["request_id"] == request_id
    assert given.headers["x-request-id"] == "mine-1"
    assert given.json()["request_id"] == "mine-1"
    decision = scored.headers["x-request-id"]
    assert f'"request_id":"{decision}"' in server.log()
    assert len({refused.headers["x-request-id"], too_big.headers["x-request-id"], decision}) == 3


def _committed_policy_version() -> str:
    document = json.loads((ROOT / "layers" / "policy" / "policy.json").read_text(encoding="utf-8"))
    version: str = document["policy_version"]
    return version


def _assert_decided_and_explained(answer: httpx.Response) -> None:
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["policy_version"] == _committed_policy_version()
    assert body["decision"] in {"APPROVE", "REVIEW", "DECLINE"}
    assert 3 <= len(body["reasons"]) <= 4
    assert isinstance(body["base_value"], float)


def test_the_emulator_decides_with_the_policy_layer_and_explains(emulator: Emulator) -> None:
    answer = httpx.post(f"{emulator.url}/predict", json={"features": [0.1] * 30, "explain": 4}, timeout=30)
    _assert_decided_and_explained(answer)


def test_the_self_hosted_server_decides_with_a_policy_file_and_explains(
    tmp_path_factory: pytest.TempPathFactory, model_dir: Path
) -> None:
    server = SelfHostedServer(
        tmp_path_factory.mktemp("selfhosted-policy"),
        model_dir,
        {"POLICY_DIR": str(ROOT / "layers" / "policy")},
    )
    server.start()
    try:
        answer = httpx.post(f"{server.base_url}/predict", json={"features": [0.1] * 30, "explain": 4}, timeout=30)
    finally:
        server.stop()
    _assert_decided_and_explained(answer)
