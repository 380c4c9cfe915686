"""Invoke the built Lambda artifact (``sam build`` output) through the Lambda Runtime Interface Emulator.

No Docker: the emulator binary ships inside the aws-sam-cli wheel
(``samcli/local/rapid/aws-lambda-rie-<arch>``) and runs the real runtime client, ``awslambdaric``,
on the host. The function's environment, handler, timeout and memory come from the template; the
layers are put where Lambda would put them: the dependency layer's ``python/`` on ``sys.path`` and
the model layer behind ``MODEL_DIR`` (on Lambda, ``/opt/model``).

One emulator serves one invocation at a time, like one Lambda execution environment.

CLI: ``python scripts/lambda_rie.py [--build-dir .aws-sam/build] events/predict_ok.json ...`` (behind
``make sam-invoke``): like ``sam local invoke``, the function's log lines and the REPORT line go to stderr
and each response payload, whole, to stdout. A missing build, a build for another architecture, a
missing event file or a missing runtime Python is one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from gateway_emulator.ports import free_port

FUNCTION_ID = "ScoringFunction"
DEPENDENCIES_LAYER_ID = "DependenciesLayer"
MODEL_LAYER_ID = "ModelLayer"
INVOKE_PATH = "/2015-03-31/functions/function/invocations"


class RieError(RuntimeError):
    """The emulator or the runtime could not be started or did not answer."""


def rie_binary() -> Path:
    """The emulator shipped in the aws-sam-cli wheel, for this machine's architecture."""
    import samcli  # the wheel carries the binaries next to its local-invoke code

    arch = "arm64" if platform.machine() in {"aarch64", "arm64"} else "x86_64"
    path = Path(samcli.__file__).parent / "local" / "rapid" / f"aws-lambda-rie-{arch}"
    if not path.is_file():
        raise RieError(f"no Lambda RIE at {path}; is aws-sam-cli installed?")
    return path


def _runs(python: str) -> bool:
    try:
        return subprocess.run([python, "-c", "import sys"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def find_python(version: str) -> str | None:
    """An interpreter for ``version`` (e.g. "3.13"): $LAMBDA_PYTHON, ``python3.13`` on PATH, or pyenv's."""
    explicit = os.environ.get("LAMBDA_PYTHON")
    if explicit:
        return explicit if _runs(explicit) else None
    on_path = shutil.which(f"python{version}")
    if on_path and _runs(on_path):
        return on_path
    pyenv = shutil.which("pyenv")
    if pyenv:
        root = subprocess.run([pyenv, "root"], capture_output=True, text=True).stdout.strip()
        for candidate in sorted(glob.glob(os.path.join(root, "versions", f"{version}*", "bin", f"python{version}"))):
            if _runs(candidate):
                return candidate
    return None


def python_with_runtime_client(python: str, venv_dir: Path, awslambdaric_pin: str) -> str:
    """A small venv for ``python`` holding only awslambdaric (what Lambda's runtime provides)."""
    venv_python = venv_dir / "bin" / "python"
    marker = venv_dir / ".awslambdaric"
    if marker.is_file() and marker.read_text() == awslambdaric_pin and _runs(str(venv_python)):
        return str(venv_python)
    subprocess.run([python, "-m", "venv", "--clear", str(venv_dir)], check=True)
    subprocess.run(
        [str(venv_python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", awslambdaric_pin],
        check=True,
    )
    marker.write_text(awslambdaric_pin)
    return str(venv_python)


def locked_requirement(name: str) -> str:
    """``name==version`` as pinned in requirements.lock (the runtime client Lambda's runtime has)."""
    lock = Path(__file__).resolve().parents[1] / "requirements.lock"
    for line in lock.read_text(encoding="utf-8").splitlines():
        if line.lower().startswith(f"{name.lower()}=="):
            return line.strip()
    raise RieError(f"{name} is not pinned in {lock}")


def runtime_version(template: dict[str, Any], function_id: str = FUNCTION_ID) -> str:
    """ "python3.13" -> "3.13", from the built template's function or its Globals."""
    props = template["Resources"][function_id]["Properties"]
    runtime = props.get("Runtime") or template.get("Globals", {}).get("Function", {}).get("Runtime")
    if not isinstance(runtime, str) or not runtime.startswith("python"):
        raise RieError(f"unexpected runtime {runtime!r}")
    return runtime.removeprefix("python")


def load_template(path: Path) -> dict[str, Any]:
    """A SAM template as data; samtranslator's parser reads short-form tags (!Ref) as long form."""
    from samtranslator.yaml_helper import yaml_parse

    data: dict[str, Any] = yaml_parse(path.read_text(encoding="utf-8"))
    return data


def resolve(value: Any, parameters: dict[str, Any]) -> Any:
    """Resolve ``Ref`` to parameters (defaults unless overridden); other intrinsics are an error."""
    if isinstance(value, dict) and set(value) == {"Ref"}:
        name = value["Ref"]
        if name not in parameters:
            raise RieError(f"cannot resolve Ref {name!r} outside AWS")
        return parameters[name]
    if isinstance(value, dict) and any(key.startswith("Fn::") for key in value):
        raise RieError(f"cannot resolve {value!r} outside AWS")
    return value


@dataclass
class BuiltFunction:
    """What the emulator needs from a ``sam build`` directory."""

    build_dir: Path
    handler: str
    timeout_s: int
    memory_mb: int
    environment: dict[str, str]
    runtime_version: str
    # another template's function (e.g. a benchmark baseline) is found by its own resource id
    function_id: str = FUNCTION_ID
    task_root: Path = field(init=False)
    dependencies_dir: Path = field(init=False)
    model_dir: Path = field(init=False)
    # Where each layer folder Lambda mounts under /opt (/opt/model, /opt/policy) is in the build.
    opt_dirs: dict[str, Path] = field(init=False)

    def __post_init__(self) -> None:
        self.task_root = self.build_dir / self.function_id
        self.dependencies_dir = self.build_dir / DEPENDENCIES_LAYER_ID / "python"
        self.model_dir = self.build_dir / MODEL_LAYER_ID / "model"
        self.opt_dirs = {
            f"/opt/{folder.name}": folder
            for layer in sorted(self.build_dir.glob("*Layer"))
            if layer.is_dir()
            for folder in sorted(layer.iterdir())
            if folder.is_dir() and folder.name != "python"
        }

    def layer_environment(self) -> dict[str, str]:
        """The function's variables, each ``/opt/<folder>/...`` path pointed at that layer in the build."""
        env = dict(self.environment)
        for name, value in self.environment.items():
            mount = "/".join(value.split("/")[:3])
            if value.startswith("/opt/") and mount in self.opt_dirs:
                env[name] = str(self.opt_dirs[mount]) + value[len(mount) :]
        env["MODEL_DIR"] = str(self.model_dir)  # the model layer's files, where Lambda has /opt/model
        return env

    @classmethod
    def from_build_dir(
        cls, build_dir: Path, overrides: dict[str, str] | None = None, *, function_id: str = FUNCTION_ID
    ) -> BuiltFunction:
        template = load_template(build_dir / "template.yaml")
        parameters = {
            name: str(spec["Default"]) for name, spec in template.get("Parameters", {}).items() if "Default" in spec
        }
        parameters.update(overrides or {})
        fn_globals = template.get("Globals", {}).get("Function", {})
        props = {**fn_globals, **template["Resources"][function_id]["Properties"]}
        variables = props.get("Environment", {}).get("Variables", {})
        environment = {key: str(resolve(value, parameters)) for key, value in variables.items()}
        return cls(
            build_dir=build_dir,
            handler=str(props["Handler"]),
            timeout_s=int(resolve(props["Timeout"], parameters)),
            memory_mb=int(resolve(props["MemorySize"], parameters)),
            environment=environment,
            runtime_version=runtime_version(template, function_id),
            function_id=function_id,
        )


@dataclass
class Invocation:
    status_code: int
    body: Any
    headers: dict[str, str]
    raw: dict[str, Any]


class LambdaEmulator:
    """One execution environment: the RIE running ``python -m awslambdaric <handler>``.

    ``use_dependency_layer=False`` leaves the layer off ``sys.path`` so the interpreter's own
    site-packages serve the dependencies (the fallback when the runtime's Python is missing).
    """

    def __init__(
        self,
        function: BuiltFunction,
        python: str,
        *,
        use_dependency_layer: bool = True,
        extra_env: dict[str, str] | None = None,
        timeout_s: int | None = None,
    ) -> None:
        self.function = function
        # the runtime starts in the task root: a relative interpreter path must not depend on it
        self.python = os.path.abspath(python) if os.sep in python else python  # keep venv symlinks
        self.use_dependency_layer = use_dependency_layer
        self.extra_env = extra_env or {}
        self.timeout_s = timeout_s or function.timeout_s
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = function.build_dir.parent / f"rie-{os.getpid()}-{id(self)}.log"

    def environment(self) -> dict[str, str]:
        fn = self.function
        path_entries = [str(fn.task_root)]
        if self.use_dependency_layer:
            path_entries.append(str(fn.dependencies_dir))
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "TZ": ":UTC",
            "PYTHONPATH": os.pathsep.join(path_entries),
            "PYTHONDONTWRITEBYTECODE": "1",  # /opt and /var/task are read-only on Lambda
            "LAMBDA_TASK_ROOT": str(fn.task_root),
            "AWS_LAMBDA_FUNCTION_NAME": f"fraud-scoring-{fn.function_id}",
            "AWS_LAMBDA_FUNCTION_VERSION": "1",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory_mb),
            "AWS_LAMBDA_FUNCTION_TIMEOUT": str(self.timeout_s),
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_EXECUTION_ENV": f"AWS_Lambda_python{fn.runtime_version}",
        }
        env.update(fn.layer_environment())
        env.update(self.extra_env)
        return env

    def start(self, ready_timeout_s: float = 20.0, poll_interval_s: float = 0.05) -> None:
        self.port = free_port()
        runtime_api_port = free_port()
        command = [
            str(rie_binary()),
            "--runtime-interface-emulator-address",
            f"127.0.0.1:{self.port}",
            "--runtime-api-address",
            f"127.0.0.1:{runtime_api_port}",
            self.python,
            "-m",
            "awslambdaric",
            self.function.handler,
        ]
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                command,
                cwd=self.function.task_root,
                env=self.environment(),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + ready_timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RieError(f"the emulator exited with {self.process.returncode}:\n{self.log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(poll_interval_s)
        self.stop()
        raise RieError(f"the emulator did not listen on 127.0.0.1:{self.port} within {ready_timeout_s}s")

    def invoke(self, event: dict[str, Any]) -> Invocation:
        if self.process is None:
            raise RieError("start() the emulator first")
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{INVOKE_PATH}",
            data=json.dumps(event).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s + 30) as response:
                raw = json.loads(response.read())
        except (urllib.error.URLError, TimeoutError) as exc:
            raise RieError(f"invocation failed: {exc}\n{self.log()}") from exc
        if not isinstance(raw, dict) or "statusCode" not in raw:
            raise RieError(f"not an API Gateway proxy response: {raw!r}\n{self.log()}")
        body_text = raw.get("body") or ""
        headers = {key.lower(): value for key, value in (raw.get("headers") or {}).items()}
        body: Any = body_text
        if headers.get("content-type", "").startswith("application/json") and body_text:
            body = json.loads(body_text)
        return Invocation(status_code=int(raw["statusCode"]), body=body, headers=headers, raw=raw)

    def log(self, tail_chars: int | None = 4000) -> str:
        """What the emulator and the function wrote (the last ``tail_chars``; None for all)."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return text if tail_chars is None else text[-tail_chars:]

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # RIE ends its runtime child with it
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None

    def __enter__(self) -> LambdaEmulator:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
        self.log_path.unlink(missing_ok=True)


LAYER_MARKER = ".fraud-scoring-layer"  # written by layers/dependencies/Makefile: arch, python, bytecode
# Linux's machine names for the two Lambda architectures.
HOST_ARCHITECTURES = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}


def host_architecture() -> str:
    return HOST_ARCHITECTURES.get(platform.machine().lower(), platform.machine())


def built_layer_architecture(build_dir: Path) -> str | None:
    """The architecture the dependency layer's wheels were built for (None when unknown)."""
    marker = build_dir / DEPENDENCIES_LAYER_ID / "python" / LAYER_MARKER
    try:
        lines = marker.read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    fields = dict(line.split("=", 1) for line in lines if "=" in line)
    return fields.get("arch")


class UsageError(Exception):
    """A problem the user fixes by typing something else: printed as one line, exit status 2."""


def check_invocation(build_dir: Path, events: list[Path]) -> None:
    """Refuse, with what to type, a missing build, a build for another CPU, or a missing event file."""
    if not (build_dir / "template.yaml").is_file():
        raise UsageError(f"no sam build in {build_dir}: run 'make sam-build' first")
    built = built_layer_architecture(build_dir)
    host = host_architecture()
    if built is not None and built != host:
        raise UsageError(
            f"{build_dir} holds an {built} build and this machine is {host} (the Lambda RIE runs native code "
            f"only): run 'make sam-build ARCH={host}' first"
        )
    for path in events:
        if not path.is_file():
            raise UsageError(f"event file {path} not found: give EVENT=events/<name>.json (ls events/)")


def read_event(path: Path) -> dict[str, Any]:
    try:
        event = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(f"event file {path} is not JSON ({exc}): an API Gateway proxy event is expected") from exc
    if not isinstance(event, dict):
        raise UsageError(f"event file {path} holds a {type(event).__name__}, not an API Gateway proxy event object")
    return event


def wait_for_report(emulator: LambdaEmulator, offset: int, timeout_s: float = 2.0) -> str:
    """The log written since ``offset`` once it holds the invocation's REPORT line (RIE writes it last)."""
    deadline = time.monotonic() + timeout_s
    while True:
        text = emulator.log(tail_chars=None)[offset:]
        if "REPORT RequestId" in text or time.monotonic() >= deadline:
            return text
        time.sleep(0.02)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Invoke the sam build output through the Lambda RIE. Like `sam local invoke`: the function's "
        "log lines (START, its own output, END, REPORT) go to stderr and each response payload to stdout."
    )
    parser.add_argument("events", nargs="+", type=Path)
    parser.add_argument("--build-dir", type=Path, default=Path(".aws-sam/build"))
    parser.add_argument("--runtime-venv", type=Path, default=Path("build/.venv-lambda"))
    args = parser.parse_args(argv)
    try:
        check_invocation(args.build_dir, args.events)
        events = [(path, read_event(path)) for path in args.events]
        try:
            function = BuiltFunction.from_build_dir(args.build_dir.resolve())
        except (KeyError, RieError) as exc:
            raise UsageError(
                f"{args.build_dir}/template.yaml is not a zip build of template.yaml ({exc!r}): run 'make sam-build'"
            ) from exc
        python = find_python(function.runtime_version)
        if python is None:
            raise UsageError(
                f"python{function.runtime_version} (the function's runtime) not found on PATH or in pyenv: "
                f"install it (pyenv install {function.runtime_version}) or set LAMBDA_PYTHON=/path/to/python"
            )
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    pin = locked_requirement("awslambdaric")
    venv_dir = args.runtime_venv.resolve().with_name(f"{args.runtime_venv.name}-py{function.runtime_version}")
    try:
        runtime_python = python_with_runtime_client(python, venv_dir, pin)
    except subprocess.CalledProcessError as exc:
        print(f"error: could not install {pin} into {venv_dir} ({exc}); is PyPI reachable?", file=sys.stderr)
        return 1
    try:
        with LambdaEmulator(function, runtime_python) as emulator:
            for path, event in events:
                offset = len(emulator.log(tail_chars=None))
                started = time.perf_counter()
                result = emulator.invoke(event)
                elapsed_ms = (time.perf_counter() - started) * 1000
                sys.stderr.write(wait_for_report(emulator, offset))
                print(f"== {path}: {result.status_code} in {elapsed_ms:.1f} ms", file=sys.stderr, flush=True)
                print(json.dumps(result.raw), flush=True)
    except RieError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
