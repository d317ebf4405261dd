#!/usr/bin/env bash
# Install everything and run every test. Usage: bash scripts/test.sh [pytest args]
# Starts its own redis-server on a free port unless REDIS_URL is given.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[dev]' 2>&1 | grep -v "^WARNING: Location" || true

# Graphviz draws the PNG diagrams; its tests skip cleanly without it.
if ! command -v dot >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing Graphviz (for PNG diagrams)..."
    (apt-get install -y -q graphviz >/dev/null 2>&1 \
      || (apt-get update -q >/dev/null 2>&1 && apt-get install -y -q graphviz >/dev/null 2>&1)) \
      || echo "Graphviz could not be installed: PNG diagram tests will be skipped."
  else
    echo "Graphviz (dot) not found: PNG diagram tests will be skipped."
  fi
fi

# The real Mermaid parser checks the Mermaid output (tests/test_diagram_mermaid.py); its tests
# skip cleanly without Node.js and npm.
if [ -d tests/mermaid ] && [ ! -d tests/mermaid/node_modules/mermaid ]; then
  if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
    echo "Installing the Mermaid parser (npm, for the Mermaid output tests)..."
    (cd tests/mermaid && npm install --no-audit --no-fund --loglevel=error >/dev/null 2>&1) \
      || echo "The Mermaid parser could not be installed: Mermaid parser tests will be skipped."
  else
    echo "Node.js/npm not found: Mermaid parser tests will be skipped."
  fi
fi

# Redis: the tests need a real server.
REDIS_PID_FILE=""
cleanup() {
  if [ -n "$REDIS_PID_FILE" ] && [ -f "$REDIS_PID_FILE" ]; then
    kill "$(cat "$REDIS_PID_FILE")" 2>/dev/null || true
    rm -rf "$(dirname "$REDIS_PID_FILE")"
  fi
}
trap cleanup EXIT
if [ -n "${REDIS_URL:-}" ]; then
  export TEST_REDIS_URL="$REDIS_URL"
else
  if ! command -v redis-server >/dev/null 2>&1; then
    echo "error: redis-server not found. Install it (e.g. 'apt-get install redis-server') or set REDIS_URL to a Redis server the tests may use." >&2
    exit 1
  fi
  port=$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
  dir=$(mktemp -d)
  REDIS_PID_FILE="$dir/redis.pid"
  redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --daemonize yes \
    --dir "$dir" --pidfile "$REDIS_PID_FILE" --logfile "$dir/redis.log"
  for _ in $(seq 1 50); do
    redis-cli -p "$port" ping >/dev/null 2>&1 && break
    sleep 0.1
  done
  export TEST_REDIS_URL="redis://127.0.0.1:$port/0"
fi
# Tests must never read a developer's real tokens.
unset ANTHROPIC_API_KEY SLACK_BOT_TOKEN SLACK_APP_TOKEN SLACK_SIGNING_SECRET DISCORD_TOKEN REDIS_URL || true

# Static checks first: a lint or type error fails the run like a failing test.
echo "ruff (bot, adapters)..."
.venv/bin/ruff check bot adapters
echo "mypy (bot, adapters)..."
.venv/bin/mypy
.venv/bin/python -m pytest "$@"
