"""Ship bytecode in the dependency layer, compiled by the Lambda runtime's Python.

    bytecode.py <site-directory> <python-version> --init <module-list>   # LAYER_BYTECODE=init
    bytecode.py <site-directory> <python-version> --all                  # LAYER_BYTECODE=all

Lambda's ``/opt`` is read-only, so a layer shipped as ``.py`` only is compiled at every cold start:
about half of a cold start's CPU (docs/cold-start.md). ``__pycache__`` for the whole layer (``--all``,
sources kept) fixes that for +7.5 MiB and breaks the 90 MB size goal. ``--init`` replaces each
module in ``init-modules.txt`` (what importing the handler and answering every event in ``events/``
loads; ``make layer-init-modules`` regenerates it and ``make test`` checks it is current) by a
sourceless ``module.pyc`` beside it, which Python imports when no ``module.py`` is there. The size
stays about the same (bytecode is about as large as the source); other modules stay ``.py``.

The price of ``--init``: tracebacks through those library modules show file and line but not the
source text.

Both modes are reproducible: no timestamps (unchecked-hash pycs) and file names recorded as Lambda
sees them (``/opt/python/...``), not as the build directory, so the same layer gives the same bytes
wherever it is built. Must run under the runtime's Python (bytecode is specific to the minor
version, not to the architecture). Standard library only.
"""

from __future__ import annotations

import argparse
import compileall
import py_compile
import sys
from pathlib import Path

# Where Lambda mounts the layer's python/ folder: the path tracebacks will name.
LAMBDA_SITE = "/opt/python"
UNCHECKED = py_compile.PycInvalidationMode.UNCHECKED_HASH


def read_module_list(path: Path) -> list[str]:
    lines = (line.split("#", 1)[0].strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line]


def compile_sourceless(site: Path, modules: list[str]) -> tuple[int, int]:
    """Replace each listed ``.py`` under ``site`` by its ``.pyc``; return (source bytes, bytecode bytes)."""
    missing = [name for name in modules if not (site / name).is_file()]
    if missing:
        shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
        raise SystemExit(
            f"bytecode.py: {len(missing)} listed modules are not in the layer ({shown}): the pins changed;"
            " run `make layer-init-modules` and commit layers/dependencies/init-modules.txt"
        )
    source_bytes = bytecode_bytes = 0
    for name in modules:
        source = site / name
        compiled = source.with_suffix(".pyc")
        # optimize=0: a PYTHONOPTIMIZE in the build environment must not strip asserts and
        # docstrings from files that every interpreter will load.
        py_compile.compile(
            str(source), cfile=str(compiled), dfile=f"{LAMBDA_SITE}/{name}", doraise=True,
            optimize=0, invalidation_mode=UNCHECKED,
        )  # fmt: skip
        source_bytes += source.stat().st_size
        bytecode_bytes += compiled.stat().st_size
        source.unlink()
    return source_bytes, bytecode_bytes


def compile_everything(site: Path) -> bool:
    """``__pycache__`` for every module under ``site``, sources kept."""
    return bool(
        compileall.compile_dir(
            str(site), quiet=1, workers=0, optimize=0, invalidation_mode=UNCHECKED,
            stripdir=str(site), prependdir=LAMBDA_SITE,
        )
    )  # fmt: skip


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bytecode.py", description=__doc__.splitlines()[0])
    parser.add_argument("site", type=Path)
    parser.add_argument("python_version", help="the runtime's Python, e.g. 3.13")
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--init", type=Path, metavar="MODULE_LIST", help="sourceless .pyc for the listed modules")
    mode.add_argument("--all", action="store_true", help="__pycache__ for every module, sources kept")
    args = parser.parse_args(argv[1:])
    running = f"{sys.version_info[0]}.{sys.version_info[1]}"
    if running != args.python_version:
        print(f"bytecode.py: running under Python {running}, the layer is for {args.python_version}", file=sys.stderr)
        return 2
    if args.all:
        if not compile_everything(args.site):
            print("bytecode.py: some modules did not compile", file=sys.stderr)
            return 1
        print(f"bytecode.py: __pycache__ for every module, compiled for Python {running}")
        return 0
    modules = read_module_list(args.init)
    source_bytes, bytecode_bytes = compile_sourceless(args.site, modules)
    print(
        f"bytecode.py: {len(modules)} init modules compiled for Python {running}"
        f" ({source_bytes / 1e6:.1f} MB of source -> {bytecode_bytes / 1e6:.1f} MB of bytecode)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
