#!/usr/bin/env bash
# Create (or refresh) the project's virtual environment from the lock file.
# Idempotent: pip skips what is already installed at the locked version.
set -euo pipefail
PYTHON="${PYTHON:-python3}"
VENV="${VENV:-.venv}"
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

if ! "$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
  echo "error: $PYTHON is missing or older than Python 3.11; set PYTHON=/path/to/python3.11+" >&2
  exit 1
fi
if [ ! -x "$VENV/bin/python" ]; then
  echo "==> creating $VENV with $("$PYTHON" --version)"
  "$PYTHON" -m venv "$VENV"
fi
echo "==> installing locked dependencies into $VENV (quick when already installed)"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements.lock 2>&1 \
  | grep -v "is ignored: it is neither a file nor a directory" || true
"$VENV/bin/python" -m pip check >/dev/null || { "$VENV/bin/python" -m pip check; exit 1; }
# Put the function code and the repo root on the venv's path, the way Lambda puts the
# function zip on sys.path: no install step, edits take effect at once.
site="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
printf '%s\n%s\n' "$root/function" "$root" > "$site/fraud_scoring_project.pth"
