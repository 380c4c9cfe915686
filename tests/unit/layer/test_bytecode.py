"""layers/dependencies/bytecode.py: listed modules become sourceless bytecode that Python imports."""

from __future__ import annotations

import marshal
import subprocess
import sys
from pathlib import Path

import pytest

from layers.dependencies import bytecode

HOST_VERSION = f"{sys.version_info[0]}.{sys.version_info[1]}"


def make_site(root: Path) -> Path:
    site = root / "python"
    (site / "pkg").mkdir(parents=True)
    (site / "pkg" / "__init__.py").write_text("from pkg.core import answer\n")
    (site / "pkg" / "core.py").write_text("def answer():\n    return 42\n\ndef fail():\n    raise ValueError('boom')\n")
    (site / "pkg" / "later.py").write_text("LOADED_LATER = True\n")
    return site


def write_list(root: Path, modules: list[str]) -> Path:
    listing = root / "init-modules.txt"
    listing.write_text("# header comment\n" + "".join(f"{name}\n" for name in modules))
    return listing


def run_python(site: Path, code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-I", "-S", "-B", "-c", f"import sys; sys.path.insert(0, {str(site)!r}); {code}"],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_listed_modules_are_replaced_by_importable_bytecode(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    listing = write_list(tmp_path, ["pkg/__init__.py", "pkg/core.py"])
    assert bytecode.main(["bytecode.py", str(site), HOST_VERSION, "--init", str(listing)]) == 0
    assert sorted(p.name for p in (site / "pkg").iterdir()) == ["__init__.pyc", "core.pyc", "later.py"]
    result = run_python(site, "import pkg, pkg.later; print(pkg.answer(), pkg.core.__file__, pkg.later.LOADED_LATER)")
    assert result.returncode == 0, result.stderr
    answer, core_file, later = result.stdout.split()
    assert (answer, later) == ("42", "True")
    assert core_file.endswith("core.pyc")


def test_tracebacks_name_the_lambda_path(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    bytecode.main(["bytecode.py", str(site), HOST_VERSION, "--init", str(write_list(tmp_path, ["pkg/core.py"]))])
    result = run_python(site, "import pkg.core; pkg.core.fail()")
    assert result.returncode == 1
    assert 'File "/opt/python/pkg/core.py", line 5, in fail' in result.stderr
    assert "ValueError: boom" in result.stderr


def test_the_same_source_gives_the_same_bytes_wherever_it_is_built(tmp_path: Path) -> None:
    outputs = []
    for name in ("a", "b/elsewhere"):
        site = make_site(tmp_path / name)
        listing = write_list(tmp_path / name, ["pkg/core.py"])
        bytecode.main(["bytecode.py", str(site), HOST_VERSION, "--init", str(listing)])
        outputs.append((site / "pkg" / "core.pyc").read_bytes())
    assert outputs[0] == outputs[1]


def test_all_keeps_every_source_and_adds_pycache_for_the_lambda_path(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    assert bytecode.main(["bytecode.py", str(site), HOST_VERSION, "--all"]) == 0
    assert sorted(p.name for p in (site / "pkg").glob("*.py")) == ["__init__.py", "core.py", "later.py"]
    tag = sys.implementation.cache_tag
    assert sorted(p.name for p in (site / "pkg" / "__pycache__").iterdir()) == [
        f"__init__.{tag}.pyc", f"core.{tag}.pyc", f"later.{tag}.pyc"
    ]  # fmt: skip
    compiled = (site / "pkg" / "__pycache__" / f"core.{tag}.pyc").read_bytes()
    assert marshal.loads(compiled[16:]).co_filename == "/opt/python/pkg/core.py"  # not the build directory
    (site / "pkg" / "core.py").write_text("def fail():\n    raise ValueError('edited')\n")
    result = run_python(site, "import pkg.core; pkg.core.fail()")
    assert "ValueError: boom" in result.stderr  # unchecked-hash bytecode: the read-only source is not re-read


def test_a_stale_list_fails_the_build_with_the_fix(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    listing = write_list(tmp_path, ["pkg/core.py", "pkg/gone.py"])
    stale = r"1 listed modules are not in the layer \(pkg/gone.py\).*make layer-init-modules"
    with pytest.raises(SystemExit, match=stale):
        bytecode.main(["bytecode.py", str(site), HOST_VERSION, "--init", str(listing)])
    assert (site / "pkg" / "core.py").exists()  # nothing was touched


def test_refuses_to_compile_for_another_python(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    site = make_site(tmp_path)
    assert bytecode.main(["bytecode.py", str(site), "2.7", "--init", str(write_list(tmp_path, ["pkg/core.py"]))]) == 2
    assert "the layer is for 2.7" in capsys.readouterr().err
    assert (site / "pkg" / "core.py").exists()
