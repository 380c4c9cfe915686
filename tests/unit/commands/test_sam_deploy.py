"""`make deploy` (scripts/sam_deploy.py): guided without ENV, samconfig.toml's environment with it, the
architecture carried into the deploy without dropping the environment's own parameter overrides, and
one-line refusals for what would deploy the wrong thing."""

from __future__ import annotations

import shlex
import tomllib
from pathlib import Path

import pytest

from scripts import lambda_rie
from scripts.sam_deploy import UsageError, deploy_command, main

REPO_ROOT = Path(__file__).resolve().parents[3]
CONFIG = tomllib.loads((REPO_ROOT / "samconfig.toml").read_text(encoding="utf-8"))


def fake_build(root: Path, arch: str) -> Path:
    build = root / "build"
    (build / "DependenciesLayer" / "python").mkdir(parents=True)
    (build / "template.yaml").write_text("Resources: {}\n")
    (build / "DependenciesLayer" / "python" / lambda_rie.LAYER_MARKER).write_text(f"arch={arch}\n")
    return build


def test_no_env_is_guided_from_the_default_environment(tmp_path: Path) -> None:
    build = fake_build(tmp_path, "x86_64")
    command = deploy_command("sam", CONFIG, None, "x86_64", build, [])
    assert command == [
        "sam",
        "deploy",
        "--template-file",
        str(build / "template.yaml"),
        "--guided",
        "--config-env",
        "default",
    ]


@pytest.mark.parametrize("env", ["default", "dev", "prod"])
def test_an_env_deploys_that_samconfig_environment(tmp_path: Path, env: str) -> None:
    build = fake_build(tmp_path, "x86_64")
    command = deploy_command("sam", CONFIG, env, "x86_64", build, ["--no-execute-changeset"])
    assert command[1:2] == ["deploy"]
    assert command[-3:] == ["--config-env", env, "--no-execute-changeset"]
    assert "--guided" not in command
    assert "--parameter-overrides" not in command  # samconfig's own overrides apply untouched


def test_arm64_keeps_the_environments_overrides_and_adds_the_architecture(tmp_path: Path) -> None:
    build = fake_build(tmp_path, "arm64")
    command = deploy_command("sam", CONFIG, "prod", "arm64", build, [])
    overrides = command[command.index("--parameter-overrides") + 1 :]
    own = shlex.split(CONFIG["prod"]["deploy"]["parameters"]["parameter_overrides"])
    assert overrides == [*own, "Architecture=arm64"]
    assert "ApiKeyRequired=true" in overrides


@pytest.mark.parametrize(
    ("env", "arch", "built", "message"),
    [
        (
            "qa",
            "x86_64",
            "x86_64",
            "ENV=qa is not an environment of samconfig.toml: use ENV=default|dev|staging|prod|pipeline",
        ),
        ("localstack", "x86_64", "x86_64", "run 'make localstack-deploy'"),
        ("dev", "arm64", "x86_64", "holds an x86_64 build, not arm64: run 'make sam-build ARCH=arm64' first"),
        ("dev", "sparc", "x86_64", "ARCH=sparc is not a Lambda architecture"),
    ],
)
def test_refusals(tmp_path: Path, env: str, arch: str, built: str, message: str) -> None:
    build = fake_build(tmp_path, built)
    with pytest.raises(UsageError, match=message.replace("|", r"\|").replace("(", r"\(")):
        deploy_command("sam", CONFIG, env, arch, build, [])


def test_no_build_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--build-dir", str(tmp_path / "none"), "--env", "dev", "--dry-run"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [f"error: no sam build in {tmp_path / 'none'}: run 'make sam-build ARCH=x86_64' first"]


def test_dry_run_prints_the_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    build = fake_build(tmp_path, "x86_64")
    assert main(["--build-dir", str(build), "--env", "dev", "--sam", "sam", "--dry-run"]) == 0
    assert capsys.readouterr().err.strip() == f"==> sam deploy --template-file {build}/template.yaml --config-env dev"
