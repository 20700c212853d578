#!/usr/bin/env bash
# The installable package, end to end: build the sdist and wheel (`python -m build`), install
# the wheel into a fresh virtual environment under /tmp, and run it from a directory outside
# the checkout with nothing of the checkout on the path:
#   - `hookline migrate` on an empty SQLite database,
#   - `hookline demo` until /healthz (with the wheel's version) and the built dashboard answer,
#   - `hookline serve` and `hookline worker` on their own database until they answer / stay up.
# Every process writes into the temporary directory only. Run by hand: `.ci/wheel-smoke.sh`
# (KEEP=1 keeps the temporary directory). Any failure prints the logs and exits non-zero.
set -euo pipefail
cd "$(dirname "$0")/.."
CHECKOUT=$PWD
PYTHON=${PYTHON:-.venv/bin/python}

fail() { echo "wheel-smoke: FAILED: $*" >&2; exit 1; }

WORK=$(mktemp -d /tmp/hookline-wheel-smoke.XXXXXX)
PIDS=()
cleanup() {
  status=$?
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ "$status" -ne 0 ]; then
    for log in "$WORK"/*.log; do
      [ -f "$log" ] && { echo "----- $log (last 60 lines)" >&2; tail -n 60 "$log" >&2; }
    done
    echo "wheel-smoke: FAILED (status $status); files in $WORK" >&2
  elif [ -z "${KEEP:-}" ]; then
    rm -rf "$WORK"
  fi
  exit "$status"
}
trap cleanup EXIT

echo "wheel-smoke: building the dashboard and the package"
make --no-print-directory install frontend >"$WORK/make.log" 2>&1 || fail "make install frontend"
[ -f app/static/index.html ] || fail "app/static/index.html missing after make frontend"
"$PYTHON" -m build --outdir "$WORK/dist" . >"$WORK/build.log" 2>&1 || fail "python -m build"
WHEELS=("$WORK"/dist/hookline-*.whl)
[ "${#WHEELS[@]}" -eq 1 ] && [ -f "${WHEELS[0]}" ] || fail "expected one wheel in $WORK/dist"
WHEEL=${WHEELS[0]}
VERSION=$(basename "$WHEEL" | cut -d- -f2)
echo "wheel-smoke: $(basename "$WHEEL")"

# The wheel itself must carry what the checkout provides beside the code.
"$PYTHON" - "$WHEEL" <<'PY' || fail "the wheel lacks package data"
import sys, zipfile
names = set(zipfile.ZipFile(sys.argv[1]).namelist())
need = ["app/static/index.html", "app/migrations/env.py", "app/migrations/script.py.mako"]
missing = [n for n in need if n not in names]
missing += [] if any(n.startswith("app/static/assets/") for n in names) else ["app/static/assets/*"]
missing += [] if any(n.startswith("app/migrations/versions/") for n in names) else ["versions/*"]
if missing:
    sys.exit(f"missing from the wheel: {missing}")
PY

echo "wheel-smoke: installing into a fresh virtual environment"
python3 -m venv "$WORK/venv"
"$WORK/venv/bin/pip" install -q "$WHEEL" >"$WORK/pip.log" 2>&1 || fail "pip install the wheel"
HOOKLINE=$WORK/venv/bin/hookline
[ -x "$HOOKLINE" ] || fail "no hookline console script"

# From here on: a directory outside the checkout, no PYTHONPATH, no HOOKLINE_* from outside.
mkdir -p "$WORK/run"
cd "$WORK/run"
unset PYTHONPATH
while IFS= read -r name; do unset "$name"; done < <(env | sed -n 's/^\(HOOKLINE_[A-Z_]*\)=.*/\1/p')
location=$("$WORK/venv/bin/python" -c "import app; print(app.__file__)")
case "$location" in
  "$WORK"/venv/*) ;;
  *) fail "app imported from $location, not from the fresh environment" ;;
esac

free_port() {
  "$WORK/venv/bin/python" -c \
    'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_for URL PID: until URL answers 200 (60 s), failing at once if PID dies.
wait_for() {
  for _ in $(seq 120); do
    kill -0 "$2" 2>/dev/null || fail "the process serving $1 exited"
    if curl -fsS -o /dev/null --max-time 2 "$1" 2>/dev/null; then return 0; fi
    sleep 0.5
  done
  fail "$1 did not answer 200 within 60 s"
}

# check_served BASE: /healthz names the wheel's version; / is the built dashboard.
check_served() {
  health=$(curl -fsS --max-time 5 "$1/healthz") || fail "$1/healthz"
  [ "$health" = "{\"status\":\"ok\",\"version\":\"$VERSION\"}" ] \
    || fail "$1/healthz answered $health, expected version $VERSION"
  curl -fsS --max-time 5 -o "$WORK/index.html" "$1/" || fail "$1/ is not 200"
  asset=$(grep -o '/assets/[^"]*\.js' "$WORK/index.html" | head -n 1) \
    || fail "$1/ is not the built dashboard: $(head -c 300 "$WORK/index.html")"
  curl -fsS --max-time 5 -o /dev/null "$1$asset" || fail "$1$asset is not 200"
}

stop() {  # stop PID: SIGTERM, then it must exit within 30 s
  kill -TERM "$1" 2>/dev/null || fail "process $1 was no longer running"
  for _ in $(seq 60); do kill -0 "$1" 2>/dev/null || { wait "$1" || true; return 0; }; sleep 0.5; done
  fail "process $1 did not stop within 30 s of SIGTERM"
}

echo "wheel-smoke: hookline migrate"
HOOKLINE_DATABASE_URL="sqlite+aiosqlite:///$WORK/run/migrated.db" "$HOOKLINE" migrate \
  >"$WORK/migrate.log" 2>&1 || fail "hookline migrate"
"$WORK/venv/bin/python" - "$WORK/run/migrated.db" <<'PY' || fail "migrate left no schema"
import sqlite3, sys
tables = {r[0] for r in sqlite3.connect(sys.argv[1]).execute("select name from sqlite_master")}
assert {"alembic_version", "events", "deliveries", "webhooks"} <= tables, sorted(tables)
PY

echo "wheel-smoke: hookline demo"
port=$(free_port)
HOOKLINE_DATABASE_URL="sqlite+aiosqlite:///$WORK/run/demo.db" \
  "$HOOKLINE" demo --port "$port" >"$WORK/demo.log" 2>&1 &
PIDS+=($!)
wait_for "http://127.0.0.1:$port/healthz" "$!"
check_served "http://127.0.0.1:$port"
[ -f "$WORK/run/.hookline/demo.json" ] || fail "demo kept no state in its working directory"
stop "${PIDS[-1]}"

echo "wheel-smoke: hookline serve + hookline worker"
port=$(free_port)
export HOOKLINE_DATABASE_URL="sqlite+aiosqlite:///$WORK/run/serve.db"
export HOOKLINE_ADMIN_TOKEN="smoke-admin-token-0123456789"
"$HOOKLINE" serve --port "$port" >"$WORK/serve.log" 2>&1 &
PIDS+=($!)
serve_pid=$!
wait_for "http://127.0.0.1:$port/healthz" "$serve_pid"
check_served "http://127.0.0.1:$port"
curl -fsS --max-time 5 -o /dev/null "http://127.0.0.1:$port/readyz" || fail "/readyz"
HOOKLINE_AUTO_MIGRATE=false "$HOOKLINE" worker >"$WORK/worker.log" 2>&1 &
PIDS+=($!)
worker_pid=$!
sleep 3
kill -0 "$worker_pid" 2>/dev/null || fail "hookline worker exited"
stop "$worker_pid"
stop "$serve_pid"

cd "$CHECKOUT"
echo "wheel-smoke: OK ($(basename "$WHEEL"): migrate, demo, serve and worker from the wheel)"
