#!/usr/bin/env bash
# LocalStack in host mode (no Docker needed, no account): its own venv, 127.0.0.1 only, state under
# .localstack/. Used by mk/localstack.mk and by tests/integration/test_localstack.py.
#
#   scripts/localstack.sh python   print the Python >= 3.13 it would build the venv with
#   scripts/localstack.sh venv     create/refresh .venv-localstack from localstack/requirements.txt
#   scripts/localstack.sh up       start (if not running) and wait until healthy
#   scripts/localstack.sh down     stop what `up` started
#   scripts/localstack.sh status   exit 0 when our LocalStack answers its health check
#   scripts/localstack.sh deploy   sam deploy --config-env localstack against it (after sam build)
#
# Environment: LOCALSTACK_PYTHON (a Python >= 3.13), LOCALSTACK_PORT (4566),
# LOCALSTACK_LAMBDA_EXECUTOR (docker | deploy-only; default: docker when a Docker engine answers).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

VENV_LS="${VENV_LS:-.venv-localstack}"
REQUIREMENTS="localstack/requirements.txt"
PLUGINS_DIR="localstack/plugins"
STATE_DIR="$root/.localstack"
PID_FILE="$STATE_DIR/localstack.pid"
LOG_FILE="$STATE_DIR/localstack.log"
PORT="${LOCALSTACK_PORT:-4566}"
ENDPOINT="http://127.0.0.1:$PORT"
START_TIMEOUT_S="${LOCALSTACK_START_TIMEOUT_S:-90}"
STOP_TIMEOUT_S="${LOCALSTACK_STOP_TIMEOUT_S:-15}"
# What template.yaml deploys, plus what `sam deploy` itself uses (S3 for artifacts, CloudFormation).
SERVICES="cloudformation,s3,lambda,apigateway,iam,sts,logs,cloudwatch,codedeploy,ssm,sns"

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# localstack-core 2026.3.0 imports warnings.deprecated, which exists from Python 3.13 on (it installs
# on 3.12 but its plugins then fail to load). pyenv shims exist on PATH even when the version is not
# selected, so each candidate is run, not just looked up.
python_ok() { "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 13) else 1)' >/dev/null 2>&1; }

find_python() {
  local candidate
  if [ -n "${LOCALSTACK_PYTHON:-}" ]; then
    python_ok "$LOCALSTACK_PYTHON" || die "LOCALSTACK_PYTHON=$LOCALSTACK_PYTHON is not a working Python >= 3.13"
    echo "$LOCALSTACK_PYTHON"; return
  fi
  for candidate in python3.13 python3.14 python3; do
    if command -v "$candidate" >/dev/null && python_ok "$candidate"; then command -v "$candidate"; return; fi
  done
  # pyenv's versions, also when pyenv itself is not on PATH (its default root is ~/.pyenv)
  local pyenv_root="${PYENV_ROOT:-$HOME/.pyenv}"
  if command -v pyenv >/dev/null; then pyenv_root="$(pyenv root)"; fi
  for candidate in $(ls -d "$pyenv_root"/versions/3.1[3-9]*/bin/python3 2>/dev/null | sort -rV); do
    if python_ok "$candidate"; then echo "$candidate"; return; fi
  done
  die "LocalStack needs Python >= 3.13 and none was found (tried python3.13, python3.14, python3 on PATH and pyenv versions). Install one (e.g. 'pyenv install 3.13') or set LOCALSTACK_PYTHON=/path/to/python3.13"
}

cmd_venv() {
  local stamp="$VENV_LS/.installed" want
  want="$(cat "$REQUIREMENTS" "$PLUGINS_DIR"/pyproject.toml "$PLUGINS_DIR"/*.py | sha256sum | cut -d' ' -f1)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$VENV_LS/bin/python" ]; then
    return
  fi
  rm -f "$stamp"
  if [ ! -x "$VENV_LS/bin/python" ]; then
    local python
    python="$(find_python)"
    log "creating $VENV_LS with $("$python" --version 2>&1) ($python)"
    "$python" -m venv "$VENV_LS"
  fi
  log "installing pinned LocalStack into $VENV_LS (a few minutes the first time)"
  # pipefail keeps pip's status through the filter; grep -v finding nothing to print is not an error.
  "$VENV_LS/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQUIREMENTS" 2>&1 \
    | { grep -v "is ignored: it is neither a file nor a directory" || true; } \
    || die "installing $REQUIREMENTS into $VENV_LS failed (above); run again once the cause is fixed"
  "$VENV_LS/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps "./$PLUGINS_DIR" 2>&1 \
    | { grep -v "is ignored: it is neither a file nor a directory" || true; } \
    || die "installing the project's LocalStack plugins into $VENV_LS failed (above)"
  rm -rf "$PLUGINS_DIR/build" "$PLUGINS_DIR"/*.egg-info
  "$VENV_LS/bin/python" -m pip check >/dev/null || { "$VENV_LS/bin/python" -m pip check; exit 1; }
  "$VENV_LS/bin/python" -c 'import localstack.runtime.main, deploy_only_executor, update_policy_dependencies, stage_method_settings' \
    || die "$VENV_LS is broken: LocalStack or the project's plugins do not import"
  echo "$want" > "$stamp"
}

healthy() {
  # Healthy = the gateway answers and CloudFormation is not disabled.
  curl -sf -m 2 "$ENDPOINT/_localstack/health" 2>/dev/null | grep -q '"cloudformation": "\(available\|running\)"'
}

our_pid() {
  [ -f "$PID_FILE" ] || return 1
  local pid
  pid="$(cat "$PID_FILE")"
  kill -0 "$pid" 2>/dev/null || return 1
  echo "$pid"
}

# LocalStack's docker executor needs a Docker engine, the Lambda runtime image (pulled from a registry)
# and its runtime-init binary (downloaded at the first function creation). It is picked only when the
# engine answers and the python3.13 runtime image is already there; force it with
# LOCALSTACK_LAMBDA_EXECUTOR=docker where the internet is reachable.
LAMBDA_RUNTIME_IMAGE="public.ecr.aws/lambda/python:3.13"
lambda_executor() {
  if [ -n "${LOCALSTACK_LAMBDA_EXECUTOR:-}" ]; then echo "$LOCALSTACK_LAMBDA_EXECUTOR"; return; fi
  if command -v docker >/dev/null && docker info >/dev/null 2>&1 \
    && docker image inspect "$LAMBDA_RUNTIME_IMAGE" >/dev/null 2>&1; then
    echo docker
  else
    echo deploy-only
  fi
}

cmd_up() {
  if our_pid >/dev/null && healthy; then
    log "LocalStack already running at $ENDPOINT (pid $(cat "$PID_FILE"))"; return
  fi
  if curl -s -m 2 -o /dev/null "$ENDPOINT" 2>/dev/null; then
    die "something else already listens on 127.0.0.1:$PORT; stop it or set LOCALSTACK_PORT"
  fi
  cmd_venv
  rm -rf "$STATE_DIR"
  mkdir -p "$STATE_DIR/tmp"
  local executor started
  executor="$(lambda_executor)"
  log "starting LocalStack on $ENDPOINT (Lambda executor: $executor; log: ${LOG_FILE#"$root"/})"
  started="$(date +%s%N)"
  # hypercorn honours the listen address (LocalStack's default twisted server binds 0.0.0.0 whatever
  # GATEWAY_LISTEN says); the legacy CloudFormation engine deploys this template in seconds where the
  # v2 engine spins for minutes in its reference resolution (localstack/plugins/ fixes its resource
  # ordering, see docs/localstack.md). setsid: its own process group, so that
  # `down` can end everything it started.
  env GATEWAY_LISTEN="127.0.0.1:$PORT" GATEWAY_SERVER=hypercorn \
    PERSISTENCE=0 OVERRIDE_IN_DOCKER=0 \
    FILESYSTEM_ROOT="$STATE_DIR" TMPDIR="$STATE_DIR/tmp" \
    SERVICES="$SERVICES" EAGER_SERVICE_LOADING=0 \
    PROVIDER_OVERRIDE_CLOUDFORMATION=engine-legacy \
    LAMBDA_RUNTIME_EXECUTOR="$executor" \
    DNS_ADDRESS=0 SKIP_SSL_CERT_DOWNLOAD=1 DISABLE_EVENTS=1 SKIP_INFRA_DOWNLOADS=1 \
    setsid "$VENV_LS/bin/python" -m localstack.runtime.main >"$LOG_FILE" 2>&1 </dev/null &
  echo $! > "$PID_FILE"
  echo "$executor" > "$STATE_DIR/lambda-executor"
  local deadline=$((SECONDS + START_TIMEOUT_S))
  until healthy; do
    if ! our_pid >/dev/null; then
      tail -n 30 "$LOG_FILE" >&2 || true
      rm -f "$PID_FILE"
      die "LocalStack exited during startup (log above, full log in ${LOG_FILE#"$root"/})"
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      tail -n 30 "$LOG_FILE" >&2 || true
      cmd_down
      die "LocalStack did not become healthy within ${START_TIMEOUT_S}s"
    fi
    sleep 0.3
  done
  log "LocalStack healthy after $((($(date +%s%N) - started) / 1000000)) ms (pid $(cat "$PID_FILE"))"
}

cmd_down() {
  local pid
  if ! pid="$(our_pid)"; then
    rm -f "$PID_FILE"
    log "LocalStack is not running"; return
  fi
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + STOP_TIMEOUT_S))
  # LocalStack 2026.3 in hypercorn mode stops its services on SIGTERM but its event loop is stopped
  # from another thread and never wakes up: once the port is closed, the process group is killed.
  while kill -0 "$pid" 2>/dev/null; do
    if ! curl -s -m 1 -o /dev/null "$ENDPOINT" 2>/dev/null; then
      sleep 1
      break
    fi
    [ "$SECONDS" -ge "$deadline" ] && break
    sleep 0.2
  done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  fi
  local i
  for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && die "LocalStack (pid $pid) did not stop"
  rm -f "$PID_FILE"
  log "LocalStack stopped"
}

cmd_status() {
  if our_pid >/dev/null && healthy; then
    echo "LocalStack running at $ENDPOINT (pid $(cat "$PID_FILE"))"
  else
    echo "LocalStack not running"; return 1
  fi
}

cmd_deploy() {
  healthy || die "LocalStack is not running at $ENDPOINT: run 'make localstack-up' first"
  [ -f .aws-sam/build/template.yaml ] || die "no .aws-sam/build/template.yaml: run 'make sam-build' first"
  # The SAM CLI is pointed at LocalStack through the standard AWS_ENDPOINT_URL (botocore >= 1.31)
  # with LocalStack's conventional dummy credentials: no samlocal wrapper, nothing can reach AWS.
  env -u AWS_PROFILE -u AWS_SESSION_TOKEN AWS_ENDPOINT_URL="$ENDPOINT" \
    AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1 SAM_CLI_TELEMETRY=0 \
    .venv/bin/sam deploy --config-env localstack --no-progressbar "$@"
}

case "${1:-}" in
  python) find_python ;;
  venv) cmd_venv ;;
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  deploy) shift; cmd_deploy "$@" ;;
  *) die "usage: $0 python|venv|up|down|status|deploy [sam deploy args]" ;;
esac
