#!/usr/bin/env bash
# Embedded default: gunicorn for pages and API, plus one process that runs the periodic
# tasks (outbox drain, retries, escalation, notification delivery) that Celery beat runs in
# production.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${PORT:-8000}"
.venv/bin/phis demo_logins
.venv/bin/phis events run &
tasks=$!
trap 'kill $tasks 2>/dev/null || true' EXIT INT TERM
.venv/bin/gunicorn config.wsgi:application --bind "127.0.0.1:${PORT}" \
  --workers "${WORKERS:-3}" --threads 4 --timeout 120 --access-logfile -
