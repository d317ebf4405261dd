#!/usr/bin/env bash
# Install and run the bot. Usage:
#   bash scripts/run.sh "Design a URL shortener"     (console interview, the default)
#   bash scripts/run.sh slack | discord
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e . 2>&1 | grep -v "^WARNING: Location" || true
exec .venv/bin/interview-bot "$@"
