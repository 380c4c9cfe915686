"""Watch mode over real HTTP: edits of a function's code, its layer and the template reach new
requests without a restart, and no request in flight during an edit fails. The application is a
small copy written to a temporary folder (the repository's files are never edited)."""

from __future__ import annotations

import concurrent.futures
import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.emulator_harness import Emulator, run_emulator

TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Resources:
  Api:
    Type: AWS::Serverless::Api
    Properties: {StageName: test}
  WatchedFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: app/
      Handler: handler.handler
      Runtime: python3.11
      Timeout: 10
      Environment: {Variables: {GREETING: GREETING_VALUE}}
      Layers: [!Ref WatchedLayer]
      Events:
        Hello: {Type: Api, Properties: {RestApiId: !Ref Api, Path: /hello, Method: GET}}
        Slow: {Type: Api, Properties: {RestApiId: !Ref Api, Path: /slow, Method: GET}}
EXTRA_ROUTE
  WatchedLayer:
    Type: AWS::Serverless::LayerVersion
    Properties: {ContentUri: layer/}
"""
NEW_ROUTE = "        New: {Type: Api, Properties: {RestApiId: !Ref Api, Path: /new, Method: GET}}"
HANDLER = """\
import json
import os
import time

import watched_lib

VERSION = "VERSION_VALUE"


def handler(event, context):
    if event["path"] == "/slow":
        time.sleep(1.5)
    answer = {"version": VERSION, "lib": watched_lib.MARK, "greeting": os.environ.get("GREETING"), "pid": os.getpid()}
    return {"statusCode": 200, "body": json.dumps(answer)}
"""


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _template(greeting: str, extra_route: bool = False) -> str:
    return TEMPLATE.replace("GREETING_VALUE", greeting).replace("EXTRA_ROUTE", NEW_ROUTE if extra_route else "")


@pytest.fixture
def app_dir(tmp_path: Path) -> Path:
    root = tmp_path / "app-copy"
    _write(root / "template.yaml", _template("hello"))
    _write(root / "app" / "handler.py", HANDLER.replace("VERSION_VALUE", "v1"))
    _write(root / "layer" / "python" / "watched_lib.py", 'MARK = "lib-1"\n')
    return root


@pytest.fixture
def watched(app_dir: Path, tmp_path: Path) -> Iterator[Emulator]:
    args = ["--watch", "--warm-pool", "1", "--concurrency", "4", "--warm-up-path", "/hello", "--no-throttling"]
    with run_emulator(tmp_path, *args, template=app_dir / "template.yaml") as emu:
        yield emu


def _until(client: httpx.Client, path: str, done: Callable[[httpx.Response], bool], timeout_s: float = 30) -> list[int]:
    """GET ``path`` until ``done`` holds; every status seen on the way (none may be an error)."""
    statuses: list[int] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        resp = client.get(path)
        statuses.append(resp.status_code)
        if done(resp):
            return statuses
        time.sleep(0.05)
    raise AssertionError(f"GET {path} did not change within {timeout_s} s; statuses {statuses[-20:]}")


def _field(name: str, value: str) -> Callable[[httpx.Response], bool]:
    return lambda resp: resp.status_code == 200 and json.loads(resp.text)[name] == value


def test_an_edit_reaches_new_requests_and_no_request_in_flight_fails(watched: Emulator, app_dir: Path) -> None:
    with httpx.Client(base_url=watched.url, timeout=30) as client:
        first = json.loads(client.get("/hello").text)
        assert (first["version"], first["lib"], first["greeting"]) == ("v1", "lib-1", "hello")

        # A request in flight while the code changes: answered by its (old) environment, not failed.
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            in_flight = pool.submit(client.get, "/slow")
            time.sleep(0.3)
            _write(app_dir / "app" / "handler.py", HANDLER.replace("VERSION_VALUE", "v2"))
            statuses = _until(client, "/hello", _field("version", "v2"))
            slow = in_flight.result()
        assert slow.status_code == 200, slow.text
        assert json.loads(slow.text)["version"] == "v1"
        assert set(statuses) == {200}, statuses

        _write(app_dir / "layer" / "python" / "watched_lib.py", 'MARK = "lib-2"\n')
        assert set(_until(client, "/hello", _field("lib", "lib-2"))) == {200}

        assert client.get("/new").status_code == 403
        _write(app_dir / "template.yaml", _template("bonjour", extra_route=True))
        assert set(_until(client, "/hello", _field("greeting", "bonjour"))) == {200}
        assert _until(client, "/new", lambda resp: resp.status_code == 200)[-1] == 200
    log = watched.log()
    assert "watch mode: new execution environments start from changes to" in log
    assert "handler.py changed: new environments start from the changed files" in log
    assert "1 busy retire after their request" in log  # the /slow environment of the first edit
    assert "template changed: 3 routes, throttling, API keys and usage plans reloaded" in log


def test_a_broken_template_edit_keeps_the_previous_one_serving(watched: Emulator, app_dir: Path) -> None:
    with httpx.Client(base_url=watched.url, timeout=30) as client:
        assert client.get("/hello").status_code == 200
        _write(app_dir / "template.yaml", "Resources: [not, a, template\n")
        deadline = time.monotonic() + 20
        while "template changed but cannot be used" not in watched.log() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert "template changed but cannot be used, still serving the previous one" in watched.log()
        assert client.get("/hello").status_code == 200


def test_without_watch_an_edit_waits_for_a_restart(app_dir: Path, tmp_path: Path) -> None:
    """The CLI's default (benchmarks, load tests): the running environments keep their code."""
    with (
        run_emulator(
            tmp_path, "--warm-pool", "1", "--warm-up-path", "/hello", template=app_dir / "template.yaml"
        ) as emu,
        httpx.Client(base_url=emu.url, timeout=30) as client,
    ):
        assert json.loads(client.get("/hello").text)["version"] == "v1"
        _write(app_dir / "app" / "handler.py", HANDLER.replace("VERSION_VALUE", "v2"))
        time.sleep(1.5)  # three watch intervals
        assert json.loads(client.get("/hello").text)["version"] == "v1"
        assert "watch mode" not in emu.log()


def test_in_flight_requests_all_succeed_across_repeated_edits(watched: Emulator, app_dir: Path) -> None:
    """Requests from two threads without pause while the code changes three times, each edit
    within a second of the last and of the same size (the case where Python's bytecode cache,
    keyed on whole-second mtimes and sizes, would serve the previous edit)."""
    stop = threading.Event()
    seen: list[tuple[int, str]] = []

    def hammer() -> None:
        with httpx.Client(base_url=watched.url, timeout=30) as client:
            while not stop.is_set():
                resp = client.get("/hello")
                version = json.loads(resp.text)["version"] if resp.status_code == 200 else resp.text
                seen.append((resp.status_code, version))

    threads = [threading.Thread(target=hammer) for _ in range(2)]
    for thread in threads:
        thread.start()
    try:
        for version in ("v2", "v3", "v4"):
            _write(app_dir / "app" / "handler.py", HANDLER.replace("VERSION_VALUE", version))
            deadline = time.monotonic() + 30
            while not any(v == version for _, v in seen[-5:]) and time.monotonic() < deadline:
                time.sleep(0.05)
    finally:
        stop.set()
        for thread in threads:
            thread.join(60)
    failures = [entry for entry in seen if entry[0] != 200]
    assert not failures, failures[:5]
    assert "v4" in [v for _, v in seen]
    # Environments started between an edit and its detection (<1 s) may have run either version;
    # once it is detected, every new request runs the last edit.
    time.sleep(1.5)
    with httpx.Client(base_url=watched.url, timeout=30) as client:
        versions = [json.loads(client.get("/hello").text)["version"] for _ in range(10)]
    assert versions == ["v4"] * 10
