"""`python -m training` (behind `make train`): where models go, and training on a user's CSV."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from fraud_scoring.manifest import load_manifest, sha256_file
from fraud_scoring.model import load_model
from training.__main__ import build_parser, main, output_dirs

from .user_csv import FEATURES, IDS, LABEL, TIME, write_user_csv

DEFAULT = (Path("layers/model"), Path("training/report"))


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([], DEFAULT),
        (["--data", "synthetic"], DEFAULT),
        (["--replace-default", "--csv", "tx.csv"], DEFAULT),
        (
            ["--csv", "my exports/tx 2026.csv"],
            (Path("training/runs/tx-2026/model"), Path("training/runs/tx-2026/report")),
        ),
        (["--data", "named"], (Path("training/runs/named/model"), Path("training/runs/named/report"))),
        (["--seed", "8"], (Path("training/runs/synthetic/model"), Path("training/runs/synthetic/report"))),
        (["--rows", "5000"], (Path("training/runs/synthetic/model"), Path("training/runs/synthetic/report"))),
        (["--csv", "tx.csv", "--out", "/srv/m/model"], (Path("/srv/m/model"), Path("/srv/m/report"))),
        (["--csv", "tx.csv", "--out", "/srv/m1"], (Path("/srv/m1"), Path("/srv/m1/report"))),
        (["--csv", "tx.csv", "--out", "layers/model"], DEFAULT),
        (["--data", "named", "--report", "/tmp/r"], (Path("training/runs/named/model"), Path("/tmp/r"))),
    ],
)
def test_only_the_default_run_or_an_explicit_request_writes_the_default_model(
    argv: list[str], expected: tuple[Path, Path]
) -> None:
    assert output_dirs(build_parser().parse_args(argv)) == expected


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--label", "y"], "give --csv too"),
        (["--csv", "x.csv", "--time", "ts"], "--label"),
        (["--csv", "x.csv", "--label", "y", "--ignore", "y"], "both 'label' and 'ignore'"),
        (["--csv", "x.csv", "--schema", "nope.yaml"], "no such schema file"),
    ],
)
def test_bad_schema_options_are_refused_before_training(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_csv_and_data_exclude_each_other() -> None:
    with pytest.raises(SystemExit):
        main(["--csv", "x.csv", "--data", "named"])


def test_cli_lists_every_problem_of_a_bad_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("id,amount,is_fraud\n1,abc,0\n2,,1\n3,4.5,maybe\n")
    assert main(["--csv", str(bad), "--label", "is_fraud", "--ignore", "id", "--out", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err
    assert "3 problems:" in err
    assert "column 'amount', line 2: value is not a number: 'abc'" in err
    assert "column 'amount', line 3: value is empty" in err
    assert "column 'is_fraud', line 4: value is not a number: 'maybe'" in err
    assert "Traceback" not in err
    assert not (tmp_path / "m").exists()


@pytest.fixture
def fake_repo(tmp_path: Path, model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory with a copy of the committed model layer, as `make train` runs in the repo."""
    shutil.copytree(model_dir, tmp_path / "layers" / "model")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_user_csv_trains_into_runs_leaves_the_default_model_and_serves(
    fake_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    layer = fake_repo / "layers" / "model"
    before = {p.name: sha256_file(p) for p in layer.iterdir()}
    csv = write_user_csv(fake_repo / "card export.csv", n_rows=20_000, seed=21)
    argv = ["--csv", str(csv), "--label", LABEL, "--time", TIME, "--ignore", ",".join(IDS), "--threads", "2"]
    assert main(argv) == 0

    assert {p.name: sha256_file(p) for p in layer.iterdir()} == before  # untouched
    assert not (fake_repo / "training" / "report").exists()
    run_dir = fake_repo / "training" / "runs" / "card-export"
    out = capsys.readouterr().out
    assert "the model is in training/runs/card-export/model/" in out
    assert "make serve SERVE_MODEL_DIR=training/runs/card-export/model" in out
    report = (run_dir / "report" / "README.md").read_text(encoding="utf-8")
    assert f"Features ({len(FEATURES)}, the API's order): `amount_eur`, `local_hour`," in report

    manifest = load_manifest(run_dir / "model")
    assert manifest.feature_names == FEATURES
    assert manifest.training_data["csv_schema"] == {
        "label": LABEL,
        "time": TIME,
        "ignore": list(IDS),
        "delimiter": ",",
        "time_is_feature": False,
    }
    assert manifest.metrics["test"]["roc_auc"] > 0.85
    model = load_model(run_dir / "model")
    assert model.feature_names == FEATURES
    rng = np.random.default_rng(0)
    rows = rng.uniform(0, 10, size=(5, len(FEATURES)))
    scores = model.score_many(rows)
    assert len(scores) == 5
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert model.score_one(list(rows[0])) == pytest.approx(scores[0], abs=1e-6)
