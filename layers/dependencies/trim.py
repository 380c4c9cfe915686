"""Remove what the Lambda never loads from an installed dependency layer (``trim.py <site-dir>``).

Run by this folder's Makefile after ``pip install --target``. Every rule names why the files are
dead weight at run time; the emulator test invokes the trimmed layer for real, so a rule that
removed something needed would fail ``make test``. Standard library only: the build may run
under any Python 3.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

# Directories removed wherever they appear inside a package.
DEAD_DIR_NAMES = {
    "__pycache__",  # compiled for the build machine's Python, not the runtime's
    "tests",  # test suites (numpy alone ships ~8 MB of them)
}

# Paths relative to the site directory, with the reason they are safe to drop.
DEAD_PATHS = {
    # The Python binding (capi/onnxruntime_pybind11_state*.so) links ONNX Runtime statically and
    # never loads the C-API library, which is a second 35 MB copy of the runtime.
    "onnxruntime/capi/libonnxruntime.so*": "C API library, unused by the Python binding",
    # Model-preparation tools: they import onnx/torch/transformers, which the layer does not carry.
    "onnxruntime/transformers": "transformer graph optimisation tooling",
    "onnxruntime/quantization": "offline quantisation tooling",
    "onnxruntime/tools": "model conversion and inspection tooling",
    "onnxruntime/backend": "ONNX backend test API (needs the onnx package)",
    "onnxruntime/datasets": "sample models",
    # numpy: build and test support, loaded only on demand through numpy.__getattr__ or never.
    "numpy/f2py": "Fortran wrapper generator",
    "numpy/_pyinstaller": "PyInstaller hooks",
    "numpy/_core/include": "C headers",
    "numpy/_core/lib": "static npymath library and pkg-config files",
    "numpy/_core/_simd.*.so": "SIMD test module",
    "numpy/_core/_*_tests.*.so": "C-level test modules",
    "numpy/random": "random generators (lazy in numpy; nothing in the serving path draws numbers)",
    "numpy/testing": "numpy's own test helpers (lazy; imported only by tests)",
    "numpy/ma": "masked arrays (lazy in numpy, unused here)",
    "numpy/polynomial": "polynomial classes (lazy in numpy, unused here)",
    "numpy/fft": "FFT (lazy in numpy, unused here)",
    # Powertools: the function uses Logger, Metrics and Tracer; FastAPI routes, not Powertools'.
    "aws_lambda_powertools/event_handler": "Powertools' own HTTP router (its Swagger UI files are kept)",
    "aws_lambda_powertools/utilities/auth_alpha": "unused utility",
    "aws_lambda_powertools/utilities/batch": "unused utility (SQS/Kinesis batches)",
    "aws_lambda_powertools/utilities/circuit_breaker": "unused utility",
    "aws_lambda_powertools/utilities/data_masking": "unused utility (needs aws-encryption-sdk)",
    "aws_lambda_powertools/utilities/feature_flags": "unused utility (needs AppConfig/boto3)",
    "aws_lambda_powertools/utilities/idempotency": "unused utility (needs DynamoDB/boto3)",
    "aws_lambda_powertools/utilities/kafka": "unused utility (needs avro/protobuf schemas)",
    "aws_lambda_powertools/utilities/parameters": "unused utility (needs SSM/Secrets Manager)",
    "aws_lambda_powertools/utilities/parser": "unused utility (event models)",
    "aws_lambda_powertools/utilities/streaming": "unused utility (S3 streaming)",
    "aws_lambda_powertools/utilities/validation": "unused utility (needs fastjsonschema)",
    # The CEL engine is the extension module cel/cel*.so, loaded on its own by fraud_scoring.policy;
    # the package's __init__ imports its REPL (cli.py), which needs the distributions dropped below.
    "cel/cli.py": "CEL's command-line REPL",
    "cel/__main__.py": "CEL's command-line REPL",
    "cel/stdlib.py": "CEL's Python-side extra functions (policy rules use the core language)",
}

# Files kept although a dead path above covers them, with what reads them.
KEEP_PATHS = {
    "aws_lambda_powertools/event_handler/openapi/swagger_ui/swagger-ui-bundle.min.js": "GET /docs (docs_page.py)",
    "aws_lambda_powertools/event_handler/openapi/swagger_ui/swagger-ui.min.css": "GET /docs (docs_page.py)",
}

# Whole distributions (code and metadata) onnxruntime declares only for its model tooling
# (transformers/, quantization/, tools/ above): the inference binding never imports them.
DEAD_DISTRIBUTIONS = {
    "protobuf": ("google/protobuf", "google"),
    "flatbuffers": ("flatbuffers",),
    "packaging": ("packaging",),
    # common-expression-language's REPL only (see cel/cli.py above): ~20 MB and ~260 ms of imports.
    "typer": ("typer",),
    "shellingham": ("shellingham",),
    "rich": ("rich",),
    "markdown_it_py": ("markdown_it",),
    "mdurl": ("mdurl",),
    "pygments": ("pygments",),
    "prompt_toolkit": ("prompt_toolkit",),
    "wcwidth": ("wcwidth",),
}

# Console scripts pip writes to bin/; Lambda puts /opt/bin on PATH but nothing here runs them.
DEAD_PATHS["bin"] = "console scripts (f2py, numpy-config, jp.py, ...)"

# File suffixes never read at run time.
DEAD_SUFFIXES = (".pyi", ".pyc", ".c", ".h", ".pxd", ".pyx")


def tree_bytes(root: Path) -> int:
    return sum(path.stat().st_size for path in root.rglob("*") if path.is_file() and not path.is_symlink())


def remove(path: Path, keep: frozenset[Path] = frozenset()) -> None:
    """Remove ``path``, all but the files in ``keep`` (and the folders that hold them)."""
    if path.is_dir() and not path.is_symlink():
        if not any(kept.is_relative_to(path) for kept in keep):
            shutil.rmtree(path)
            return
        for child in path.iterdir():
            if child not in keep:
                remove(child, keep)
        return
    if path not in keep:
        path.unlink()


def trim(site: Path) -> int:
    """Trim ``site`` in place; return the number of bytes removed."""
    before = tree_bytes(site)
    keep = frozenset(site / kept for kept in KEEP_PATHS)
    for pattern in DEAD_PATHS:
        for path in sorted(site.glob(pattern)):
            remove(path, keep)
    for distribution, folders in DEAD_DISTRIBUTIONS.items():
        for info in site.glob(f"{distribution}-*.dist-info"):
            remove(info)
        for folder in folders:  # a namespace folder ("google") goes only once it is empty
            path = site / folder
            if path.is_dir() and (folder == folders[0] or not any(path.iterdir())):
                shutil.rmtree(path)
    for path in sorted(site.rglob("*"), reverse=True):  # children before parents
        if not path.exists() and not path.is_symlink():
            continue
        dead_dir = path.is_dir() and path.name in DEAD_DIR_NAMES
        dead_file = path.is_file() and path.name.endswith(DEAD_SUFFIXES)
        if dead_dir or dead_file:
            remove(path)
    return before - tree_bytes(site)


def main(argv: list[str]) -> int:
    if len(argv) != 2 or not Path(argv[1]).is_dir():
        print("usage: trim.py <installed-site-directory>", file=sys.stderr)
        return 2
    site = Path(argv[1])
    removed = trim(site)
    print(f"trim.py: removed {removed / 1e6:.1f} MB, layer now {tree_bytes(site) / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
