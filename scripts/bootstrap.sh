#!/usr/bin/env bash
# Create (or refresh) the project's virtual environment from the lock file, then write the stamp
# ($VENV/.installed) that `make` checks. The stamp is written only when the install AND `pip check`
# succeed, so a failed run is retried by the next one. Idempotent: pip skips what is installed.
#
#   scripts/bootstrap.sh                install / refresh (PYTHON, VENV from the environment)
#   scripts/bootstrap.sh check-python   exit 2 with one line when $VENV was made by another Python
#                                       than $PYTHON (make runs it when PYTHON= is given)
set -euo pipefail
# make passes PYTHON_GIVEN (empty unless PYTHON= was given); run by hand, a PYTHON in the environment counts.
PYTHON_GIVEN="${PYTHON_GIVEN-${PYTHON:+1}}"
PYTHON="${PYTHON:-python3}"
VENV="${VENV:-.venv}"
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
LOCK="requirements.lock"
STAMP="$VENV/.installed"

die() { printf 'error: %s\n' "$*" >&2; exit "${2:-1}"; }

# "3.11.7 /abs/path/python3.11" of an interpreter (a venv's Python reports the base interpreter).
describe() { "$1" -c 'import os, platform, sys; print(platform.python_version(), os.path.realpath(sys._base_executable))'; }

check_python() {
  [ -x "$VENV/bin/python" ] || return 0
  local want have
  want="$(describe "$PYTHON" 2>/dev/null)" || die "PYTHON=$PYTHON does not run or is older than Python 3.11; set PYTHON=/path/to/python3.11+" 2
  have="$(describe "$VENV/bin/python" 2>/dev/null)" || return 0 # a broken venv is rebuilt by the install
  if [ "${want%% *}" != "${have%% *}" ]; then
    die "$VENV was made with Python ${have%% *} (${have#* }), not PYTHON=$PYTHON (${want%% *}): run 'make distclean' then 'make setup PYTHON=$PYTHON', or drop PYTHON=" 2
  fi
}

if [ "${1:-}" = "check-python" ]; then
  check_python
  exit 0
fi

if ! "$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
  die "$PYTHON is missing or older than Python 3.11; set PYTHON=/path/to/python3.11+"
fi
if [ -n "$PYTHON_GIVEN" ]; then check_python; fi
# A stamp from an earlier success must not survive a failed refresh.
rm -f "$STAMP"

total="$(grep -c '^[^#[:space:]].*==' "$LOCK")"
# A venv without a working pip (an interrupted or failed `python -m venv`) cannot be repaired: remake it.
clear=""
if [ -x "$VENV/bin/python" ] && ! "$VENV/bin/python" -m pip --version >/dev/null 2>&1; then
  echo "==> $VENV has no working pip: recreating it"
  clear="--clear"
fi
if [ -n "$clear" ] || [ ! -x "$VENV/bin/python" ]; then
  echo "==> creating $VENV with $("$PYTHON" --version 2>&1); the first install downloads ~$total packages and takes a minute or two"
  "$PYTHON" -m venv $clear "$VENV" || die "'$PYTHON -m venv $VENV' failed (Debian/Ubuntu: apt-get install python3-venv)"
else
  echo "==> checking the $total locked packages in $VENV (quick when already installed)"
fi

# pip's own output, shortened to one line per package it fetches ("[n/N] name==version") and one per
# install step; errors pass through. pipefail keeps pip's exit status: awk never masks it.
progress() {
  awk -v total="$total" '
    /^(Collecting|Processing) /       { n++; name = $2; sub(/.*\//, "", name);
                                        printf "    [%d/%d] %s\n", n, total, name; fflush(); next }
    /^Requirement already satisfied:/ { next }
    /^Installing collected packages:/ { sub(/^Installing collected packages: /, ""); k = split($0, names, ", ");
                                        printf "==> installing %d packages\n", k; fflush(); next }
    /^Successfully installed /        { printf "==> installed %d packages\n", NF - 2; fflush(); next }
    /^ *(Looking in|Downloading|Using cached|Obtaining|Preparing metadata|Building wheel|Created wheel|Stored in directory|Installing build dependencies|Getting requirements|Attempting uninstall|Found existing installation|Uninstalling|Successfully uninstalled)/ { next }
    /is ignored: it is neither a file nor a directory/ { next }
    { print; fflush() }'
}
if ! PYTHONUNBUFFERED=1 "$VENV/bin/python" -m pip install --disable-pip-version-check --progress-bar off \
  -r "$LOCK" 2>&1 | progress; then
  die "installing $LOCK into $VENV failed (above); nothing is marked as installed: fix the cause and run make again"
fi
if ! "$VENV/bin/python" -m pip check >/dev/null 2>&1; then
  "$VENV/bin/python" -m pip check >&2 || true
  die "pip check found broken requirements in $VENV (above); run make again after fixing them"
fi
# Put the function code and the repo root on the venv's path, the way Lambda puts the
# function zip on sys.path: no install step, edits take effect at once.
site="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
printf '%s\n%s\n' "$root/function" "$root" > "$site/fraud_scoring_project.pth"
describe "$VENV/bin/python" > "$STAMP"
echo "==> $VENV is ready ($total locked packages, Python $(cut -d' ' -f1 "$STAMP"))"
