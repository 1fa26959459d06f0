#!/usr/bin/env bash
# The test command: SQLite unless DATABASE_URL is set. Browser tests drive Debian's chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
if [ ! -x /usr/bin/chromium ]; then
  echo "chromium missing: browser tests need Debian's chromium (apt-get install chromium)" >&2
  if [ "$(id -u)" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium fonts-noto-cjk >/dev/null \
      || { apt-get update -q >/dev/null && \
           DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium fonts-noto-cjk >/dev/null; }
  fi
fi
set +e
$BIN/python -m pytest -q -n "${PHIS_TEST_WORKERS:-2}" --dist loadfile "$@"
rc=$?
set -e
# pytest exit code 5 means "no tests collected": that is a failure of the suite, not a pass.
if [ $rc -eq 5 ]; then echo "no tests collected" >&2; exit 1; fi
exit $rc
