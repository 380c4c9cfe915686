"""Staging a challenger and promoting it to champion: the service's own checks, then a copy."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from fraud_scoring.decision import load_pipeline
from monitoring import promote


def _layer_files(folder: Path) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in promote.LAYER_FILES if (folder / name).is_file()}


def test_stage_then_promote_copies_the_checked_layer(
    model_dir: Path, challenger_dir: Path, policy_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    champion = tmp_path / "model"
    shutil.copytree(model_dir, champion)
    staged = tmp_path / "challenger"
    staged.mkdir()
    (staged / "README.md").write_text("kept")
    common = ["--champion-dir", str(champion), "--challenger-dir", str(staged), "--policy-dir", str(policy_dir)]
    assert promote.main([*common, "stage", str(challenger_dir)]) == 0
    assert _layer_files(staged) == _layer_files(challenger_dir)
    assert (staged / "README.md").read_text() == "kept"
    assert "make deploy ENV=prod CHALLENGER_MODE=shadow" in capsys.readouterr().out
    assert promote.main([*common, "promote"]) == 0
    assert _layer_files(champion) == _layer_files(challenger_dir)
    assert load_pipeline(champion, policy_dir).model_version == load_pipeline(challenger_dir).model_version
    assert "make deploy ENV=prod CHALLENGER_MODE=off" in capsys.readouterr().out


def test_promotion_refuses_what_would_break_the_service(
    model_dir: Path, challenger_dir: Path, policy_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    champion = tmp_path / "model"
    shutil.copytree(model_dir, champion)
    before = _layer_files(champion)
    common = ["--champion-dir", str(champion), "--policy-dir", str(policy_dir)]

    assert promote.main([*common, "promote", str(tmp_path / "empty")]) == 1
    assert "holds no model layer" in capsys.readouterr().err

    broken = tmp_path / "broken"
    shutil.copytree(challenger_dir, broken)
    (broken / "model.onnx").write_bytes(b"junk")
    assert promote.main([*common, "promote", str(broken)]) == 1
    assert "does not load" in capsys.readouterr().err

    renamed = tmp_path / "renamed"
    shutil.copytree(challenger_dir, renamed)
    manifest = json.loads((renamed / "manifest.json").read_text())
    manifest["feature_names"] = [f"x{i}" for i in range(len(manifest["feature_names"]))]
    (renamed / "manifest.json").write_text(json.dumps(manifest))
    assert promote.main([*common, "--policy-dir", str(tmp_path / "no-policy"), "promote", str(renamed)]) == 1
    assert "other features than the champion" in capsys.readouterr().err

    assert promote.main([*common, "promote", str(champion)]) == 1
    assert "is already" in capsys.readouterr().err
    assert _layer_files(champion) == before  # nothing was copied
