"""Ship bytecode for the modules the function imports at init.

    bytecode.py <site-directory> <module-list> <runtime-python-version, e.g. 3.13>


Lambda's ``/opt`` is read-only, so a layer shipped as ``.py`` only is compiled at every cold start
(about 0.9 s of CPU for this layer: more than everything else init does). ``__pycache__`` for the
whole layer would fix that for +7.4 MiB and break the 90 MB size goal. Instead, each module in
``init-modules.txt`` (what importing the handler and answering every event in ``events/`` loads;
``make layer-init-modules`` regenerates it and ``make test`` checks it is current) is replaced by a
sourceless ``module.pyc`` beside it: Python imports that when no ``module.py`` is there. The size
stays about the same (bytecode is as large as the source), modules imported later stay ``.py``.

The price: tracebacks through those library modules show file and line but not the source text.
``LAYER_BYTECODE=all`` (sources kept, ``__pycache__`` everywhere) and ``none`` are the alternatives.

Must run under the Lambda runtime's Python (bytecode is specific to the minor version, not to the
architecture). Standard library only.
"""

from __future__ import annotations

import py_compile
import sys
from pathlib import Path

# Where Lambda mounts the layer's python/ folder: the path tracebacks will name.
LAMBDA_SITE = "/opt/python"


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
        py_compile.compile(
            str(source),
            cfile=str(compiled),
            dfile=f"{LAMBDA_SITE}/{name}",
            doraise=True,
            # no timestamp in the file: the same layer gives the same bytes
            invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
        )
        source_bytes += source.stat().st_size
        bytecode_bytes += compiled.stat().st_size
        source.unlink()
    return source_bytes, bytecode_bytes


def main(argv: list[str]) -> int:
    if len(argv) != 4:
        print("usage: bytecode.py <installed-site-directory> <module-list> <python-version>", file=sys.stderr)
        return 2
    site, listing, wanted = Path(argv[1]), Path(argv[2]), argv[3]
    running = f"{sys.version_info[0]}.{sys.version_info[1]}"
    if running != wanted:
        print(f"bytecode.py: running under Python {running}, the layer is for {wanted}", file=sys.stderr)
        return 2
    modules = read_module_list(listing)
    source_bytes, bytecode_bytes = compile_sourceless(site, modules)
    print(
        f"bytecode.py: {len(modules)} init modules compiled for Python {running}"
        f" ({source_bytes / 1e6:.1f} MB of source -> {bytecode_bytes / 1e6:.1f} MB of bytecode)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
