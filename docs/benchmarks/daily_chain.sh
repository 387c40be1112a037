#!/bin/bash
# Nightly loads in a row at 1M customers: does a one-day build cost more after weeks of them?
#
# Splits the benchmark's data set (.cache/bench/1000000/data, made by `retention bench
# --customers 1000000`) by `_loaded_at` into everything loaded before FIRST_DAY and one folder
# per load day from FIRST_DAY on (DAYS of them), builds the first once, then loads and builds
# each day incrementally, measuring every build per node (docs/benchmarks/node_cpu.py). Then
# the benchmark's last load day (data_last_day) is built on the chain's warehouse and on one
# built once from data_before (as `retention bench` builds its one-day state), alternating,
# two rounds. The figures of docs/benchmarks/2026-12-05-1m-21-nightly-loads.json came from
# this script with its defaults (20 load days, 2024-06-11 .. 2024-06-30, the day before
# data_last_day).
#
#     docs/benchmarks/daily_chain.sh /tmp/chain      # about 35 minutes, ~10 GB in /tmp/chain
set -euo pipefail
WORK=$(realpath -m "${1:?usage: daily_chain.sh WORK_DIR}")
FIRST_DAY=${FIRST_DAY:-2024-06-11}
DAYS=${DAYS:-20}
cd "$(dirname "$0")/../.."
BENCH=$(realpath -m "${BENCH:-.cache/bench/1000000}")
export DBT_SEND_ANONYMOUS_USAGE_STATS=false DBT_PROFILES_DIR=$PWD
mkdir -p "$WORK"
report() {  # a label, then node_cpu.py's JSON: success, CPU seconds, wall seconds
    python3 -c "import json, sys; r = json.load(open(sys.argv[2])); print(sys.argv[1], r['success'], r['total_cpu_seconds'], r['total_seconds'])" "$1" "$2"
}

# The day split is python_checks/pipeline.deliver's, the nightly delivery test_incremental uses.
(cd python_checks && ../.venv/bin/python - "$BENCH/data" "$WORK/days" "$FIRST_DAY" "$DAYS") <<'PY'
import datetime as dt, pathlib, sys
from pipeline import deliver
src, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
first, days = dt.datetime.fromisoformat(sys.argv[3]), int(sys.argv[4])
deliver(src, out / "base", None, first)
for i in range(days):
    day = first + dt.timedelta(days=i)
    deliver(src, out / day.date().isoformat(), day, day + dt.timedelta(days=1))
PY

DB=$WORK/chain.duckdb
rm -f "$DB"
.venv/bin/retention -q load "$WORK/days/base" --db "$DB"
RETENTION_DB_PATH=$DB .venv/bin/dbt build --exclude-resource-type unit_test -q
for day in $(ls "$WORK/days" | grep -v base); do
    .venv/bin/retention -q load "$WORK/days/$day" --db "$DB"
    .venv/bin/python docs/benchmarks/node_cpu.py --db "$DB" --out "$WORK/nodes_$day.json" \
        -- build --exclude-resource-type unit_test > "$WORK/log_$day.txt" 2>&1
    report "$day" "$WORK/nodes_$day.json"
done

# The last load day on the chain's warehouse and on a once-built one, alternating.
cp "$DB" "$WORK/chain_state.duckdb"
.venv/bin/retention -q load "$BENCH/data_last_day" --db "$WORK/chain_state.duckdb"
rm -f "$WORK/fresh_state.duckdb"
.venv/bin/retention -q load "$BENCH/data_before" --db "$WORK/fresh_state.duckdb"
RETENTION_DB_PATH=$WORK/fresh_state.duckdb .venv/bin/dbt build --exclude-resource-type unit_test -q
.venv/bin/retention -q load "$BENCH/data_last_day" --db "$WORK/fresh_state.duckdb"
for round in 1 2; do
    for state in chain fresh; do
        cp "$WORK/${state}_state.duckdb" "$WORK/${state}_final.duckdb"
        .venv/bin/python docs/benchmarks/node_cpu.py --db "$WORK/${state}_final.duckdb" \
            --out "$WORK/last_day_${state}_$round.json" -- build --exclude-resource-type unit_test \
            > /dev/null 2>&1
        report "last day, $state, round $round:" "$WORK/last_day_${state}_$round.json"
    done
done
# Equal row for row (every mart and incremental table, run stamps excluded); the raw batch
# numbers (_load_id) differ by construction: the chain loaded the rows in more batches.
cd python_checks && ../.venv/bin/python -c "
from pathlib import Path
from pipeline import differences
for line in differences(Path('$WORK/fresh_final.duckdb'), Path('$WORK/chain_final.duckdb')):
    print(line)
"
