#!/usr/bin/env bash
# Run every benchmark in one go once the machine is quiet; Markdown and JSON land in bench/out/.
#   bench/run_all.sh                 # waits (up to WAIT_MIN minutes) for a 1-min load < MAX_LOAD
#   MAX_LOAD=0.7 WAIT_MIN=40 SECONDS_PER_RUN=10 ROUNDS=3 bench/run_all.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
MAX_LOAD=${MAX_LOAD:-0.7}
WAIT_MIN=${WAIT_MIN:-40}
SECS=${SECONDS_PER_RUN:-10}
ROUNDS=${ROUNDS:-3}
mkdir -p bench/out

load1() { cut -d' ' -f1 /proc/loadavg; }
waited=0
until awk -v l="$(load1)" -v m="$MAX_LOAD" 'BEGIN { exit !(l < m) }'; do
  if [ "$waited" -ge "$WAIT_MIN" ]; then
    echo "load still $(load1) after $WAIT_MIN min: running anyway (note it in RESULTS.md)" >&2
    break
  fi
  echo "$(date +%T) load $(load1) >= $MAX_LOAD: waiting" >&2
  sleep 60
  waited=$((waited + 1))
done

{
  echo "date: $(date -Is)"
  echo "host: $(uname -srm), $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
  echo "load before: $(cat /proc/loadavg)"
  echo "git: $(git rev-parse --short HEAD 2>/dev/null || echo '?') $(git status --porcelain 2>/dev/null | wc -l) files changed"
} | tee bench/out/run.txt

$PY bench/ingest_bench.py --parcels 200000 --rounds "$ROUNDS" --memory 1000000 \
  | tee bench/out/ingest.md
echo "load after ingest: $(cat /proc/loadavg)" | tee -a bench/out/run.txt
psql -q -h 127.0.0.1 -p "${PLANNING_DB_PORT:-55432}" -U postgres -d postgres -c CHECKPOINT
$PY bench/lookup_bench.py --seconds "$SECS" --rounds "$ROUNDS" | tee bench/out/lookup.md
echo "load after lookup: $(cat /proc/loadavg)" | tee -a bench/out/run.txt
$PY bench/tiles_bench.py --seconds "$SECS" --rounds "$ROUNDS" | tee bench/out/tiles.md
echo "load after tiles: $(cat /proc/loadavg)" | tee -a bench/out/run.txt
echo "done: $(date -Is)" | tee -a bench/out/run.txt
