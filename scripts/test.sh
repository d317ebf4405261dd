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
CLUSTER_DIR=""
cleanup() {
  if [ -n "$REDIS_PID_FILE" ] && [ -f "$REDIS_PID_FILE" ]; then
    kill "$(cat "$REDIS_PID_FILE")" 2>/dev/null || true
    rm -rf "$(dirname "$REDIS_PID_FILE")"
  fi
  if [ -n "$CLUSTER_DIR" ]; then
    for pidfile in "$CLUSTER_DIR"/*/redis.pid; do
      [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null || true
    done
    rm -rf "$CLUSTER_DIR"
  fi
}
trap cleanup EXIT

# A real three-node Redis Cluster for the cluster tests (tests/test_store.py runs the store contract
# against it). Set TEST_REDIS_CLUSTER_URL to use your own; SKIP_REDIS_CLUSTER=1 skips it. If it cannot
# start, one line says so and the cluster tests are skipped.
start_cluster() {
  local ports=() port dir nodes=()
  command -v redis-cli >/dev/null 2>&1 || { CLUSTER_WHY="redis-cli not found"; return 1; }
  CLUSTER_DIR=$(mktemp -d)
  # Each node also listens on its port + 10000 (the cluster bus): pick ports where both are free.
  read -r -a ports <<<"$(.venv/bin/python - <<'PY'
import random, socket
def free(p):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", p))
            return True
        except OSError:
            return False
found = []
while len(found) < 3:
    p = random.randint(20000, 45000)
    if p not in found and free(p) and free(p + 10000):
        found.append(p)
print(*found)
PY
)"
  for port in "${ports[@]}"; do
    dir="$CLUSTER_DIR/$port"
    mkdir -p "$dir"
    redis-server --port "$port" --bind 127.0.0.1 --cluster-enabled yes --cluster-config-file "$dir/nodes.conf" \
      --cluster-node-timeout 5000 --save "" --appendonly no --daemonize yes --dir "$dir" \
      --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" || { CLUSTER_WHY="redis-server failed"; return 1; }
    nodes+=("127.0.0.1:$port")
  done
  for port in "${ports[@]}"; do
    for _ in $(seq 1 50); do
      redis-cli -p "$port" ping >/dev/null 2>&1 && break
      sleep 0.1
    done
  done
  redis-cli --cluster create "${nodes[@]}" --cluster-replicas 0 --cluster-yes >"$CLUSTER_DIR/create.log" 2>&1 \
    || { CLUSTER_WHY="redis-cli --cluster create failed: $(tail -n 1 "$CLUSTER_DIR/create.log")"; return 1; }
  # Ready only when every node reports cluster_state:ok (all slots served, the nodes agree).
  for _ in $(seq 1 100); do
    local ok=1
    for port in "${ports[@]}"; do
      redis-cli -p "$port" cluster info 2>/dev/null | grep -q "^cluster_state:ok" || ok=0
    done
    if [ "$ok" = 1 ]; then
      export TEST_REDIS_CLUSTER_URL="redis://127.0.0.1:${ports[0]}"
      return 0
    fi
    sleep 0.1
  done
  CLUSTER_WHY="cluster_state did not become ok within 10 s"
  return 1
}
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
if [ -z "${TEST_REDIS_CLUSTER_URL:-}" ] && [ -z "${SKIP_REDIS_CLUSTER:-}" ]; then
  CLUSTER_WHY="unknown reason"
  if ! start_cluster; then
    echo "Redis Cluster tests will be skipped: the local three-node cluster did not start ($CLUSTER_WHY)."
  fi
fi
# Tests must never read a developer's real tokens.
unset ANTHROPIC_API_KEY SLACK_BOT_TOKEN SLACK_APP_TOKEN SLACK_SIGNING_SECRET DISCORD_TOKEN REDIS_URL || true

# Static checks first: a lint or type error fails the run like a failing test.
echo "ruff (bot, adapters)..."
.venv/bin/ruff check bot adapters
echo "mypy (bot, adapters)..."
.venv/bin/mypy
.venv/bin/python -m pytest "$@"
