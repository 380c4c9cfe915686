"""`make deploy`: `sam deploy` of the `sam build` output, guided or with one of samconfig.toml's environments.

- no ``--env``: ``sam deploy --guided`` (its prompts start from samconfig.toml's ``[default]``, and SAM saves the
  answers there), the first-time path;
- ``--env dev|prod|default``: ``sam deploy --config-env <env>``, no prompts but the changeset the environment
  asks to confirm.

``sam deploy --parameter-overrides`` replaces the environment's ``parameter_overrides`` instead of adding to them,
so a non-default ``--arch`` and each ``--parameter NAME=VALUE`` (``make deploy CHALLENGER_MODE=shadow``) are
appended to the environment's own overrides here. The build must hold a dependency
layer for that architecture (``make sam-build ARCH=...``). Every refusal is one line and exit status 2.

CLI: ``python scripts/sam_deploy.py [--env ENV] [--arch x86_64|arm64] [--build-dir .aws-sam/build] [--dry-run]``
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from scripts.lambda_rie import built_layer_architecture

REPO_ROOT = Path(__file__).resolve().parents[1]
ARCHITECTURES = ("x86_64", "arm64")
LOCAL_ONLY_ENVIRONMENTS = {"localstack": "make localstack-deploy"}


class UsageError(Exception):
    """Printed as one line; exit status 2."""


def deploy_environments(config: dict[str, Any]) -> list[str]:
    """The samconfig.toml environments that carry deploy settings."""
    return [name for name, table in config.items() if isinstance(table, dict) and "deploy" in table]


def deploy_command(
    sam: str,
    config: dict[str, Any],
    env: str | None,
    arch: str,
    build_dir: Path,
    extra: list[str],
    parameters: Sequence[str] = (),
) -> list[str]:
    """The sam deploy command; ``parameters`` (NAME=VALUE) are added to the environment's own overrides."""
    if arch not in ARCHITECTURES:
        raise UsageError(f"ARCH={arch} is not a Lambda architecture: use ARCH=x86_64 or ARCH=arm64")
    if env in LOCAL_ONLY_ENVIRONMENTS:
        raise UsageError(f"ENV={env} deploys into LocalStack, not AWS: run '{LOCAL_ONLY_ENVIRONMENTS[env]}'")
    environments = [name for name in deploy_environments(config) if name not in LOCAL_ONLY_ENVIRONMENTS]
    if env is not None and env not in environments:
        raise UsageError(
            f"ENV={env} is not an environment of samconfig.toml: use ENV={'|'.join(environments)}, "
            "or no ENV for a guided deploy"
        )
    template = build_dir / "template.yaml"
    if not template.is_file():
        raise UsageError(f"no sam build in {build_dir}: run 'make sam-build ARCH={arch}' first")
    built = built_layer_architecture(build_dir)
    if built is not None and built != arch:
        raise UsageError(f"{build_dir} holds an {built} build, not {arch}: run 'make sam-build ARCH={arch}' first")
    command = [sam, "deploy", "--template-file", str(template)]
    command += ["--guided", "--config-env", "default"] if env is None else ["--config-env", env]
    given = [*parameters, f"Architecture={arch}"] if arch != "x86_64" else list(parameters)
    for item in given:
        if "=" not in item or not item.split("=", 1)[0]:
            raise UsageError(f"parameter {item!r} is not NAME=VALUE")
    if given:
        own = config.get(env or "default", {}).get("deploy", {}).get("parameters", {}).get("parameter_overrides", "")
        overrides = shlex.split(own) if isinstance(own, str) else [str(item) for item in own]
        names = {item.split("=", 1)[0] for item in given}
        overrides = [item for item in overrides if item.split("=", 1)[0] not in names]
        command += ["--parameter-overrides", *overrides, *given]
    return command + extra


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", default=None, help="samconfig.toml environment; none: guided")
    parser.add_argument("--arch", default="x86_64")
    parser.add_argument("--build-dir", type=Path, default=Path(".aws-sam/build"))
    parser.add_argument("--samconfig", type=Path, default=REPO_ROOT / "samconfig.toml")
    parser.add_argument("--sam", default=str(Path(sys.executable).with_name("sam")))
    parser.add_argument(
        "--parameter", action="append", default=[], help="NAME=VALUE added to the environment's parameter overrides"
    )
    parser.add_argument("--dry-run", action="store_true", help="print the sam command instead of running it")
    parser.add_argument("sam_args", nargs="*", help="more `sam deploy` arguments (after --)")
    args = parser.parse_args(argv)
    try:
        config = tomllib.loads(args.samconfig.read_text(encoding="utf-8"))
        command = deploy_command(
            args.sam, config, args.env or None, args.arch, args.build_dir, args.sam_args, args.parameter
        )
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print("==> " + shlex.join(command), file=sys.stderr, flush=True)
    if args.dry_run:
        return 0
    os.execv(command[0], command)
    return 1  # not reached: execv replaces this process


if __name__ == "__main__":
    sys.exit(main())
