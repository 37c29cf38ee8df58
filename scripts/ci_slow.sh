#!/usr/bin/env bash
# CI's second half: the tests marked `slow` that the README's command skips, as two pytest
# processes side by side on the machine's two cores (in series they took 12 of CI's 19 minutes on
# a slow 2-core machine). Most of them wait: on subprocesses killed and restarted, deadlines,
# backoffs, a 60-second soak, pip installing from the lock. Each PostgreSQL test works in a fresh
# schema of its own, so the two halves never share a table.
#
# Half A: the reliability suite and the other multi-process ledger and fleet tests; half B: the
# rest. Each half's output is printed whole when both are done; the exit status is the first
# failing job's, else 0.
#
# Usage (from a checkout, with the venv the README's quick start built): bash scripts/ci_slow.sh
set -uo pipefail

python=.venv/bin/python
half_a=(
  tests/reliability
  tests/test_ledger_durability.py
  tests/test_gateway_fleet.py
  tests/test_report_rollup.py
  tests/test_properties_ledger.py
  tests/test_packaging.py
)
ignore_a=()
for path in "${half_a[@]}"; do
  ignore_a+=("--ignore=$path")
done
common=(-m slow -p no:cacheprovider --durations=15)
logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT

"$python" -m pytest "${common[@]}" "${half_a[@]}" >"$logs/a.log" 2>&1 &
pid_a=$!
"$python" -m pytest "${common[@]}" tests "${ignore_a[@]}" >"$logs/b.log" 2>&1 &
pid_b=$!
# Optional third job: the README's quick start on another Python (CI_OTHER_PYTHON, set by
# .ci/run), in a fresh clone of this one, without PostgreSQL: the two halves mostly wait. It adds
# about a third to this step, so it is skipped when CI has already run long (a slow machine),
# to keep CI well under its 20 minutes.
budget_s=420
elapsed_s=$(($(date +%s) - ${CI_STARTED_AT:-$(date +%s)}))
if [[ -n "${CI_OTHER_PYTHON:-}" ]] && ((elapsed_s > budget_s)); then
  echo "ci_slow: not running the quick start on $CI_OTHER_PYTHON: CI is ${elapsed_s}s in" \
    "(over ${budget_s}s), a slow machine"
  CI_OTHER_PYTHON=""
fi
status_c=0
other="not run"
if [[ -n "${CI_OTHER_PYTHON:-}" ]]; then
  (unset ROUTER_TEST_POSTGRES_URL ROUTER_RELIABILITY_REPORT
   PYTHON="$CI_OTHER_PYTHON" bash scripts/fresh_clone_check.sh "$PWD") >"$logs/c.log" 2>&1 &
  pid_c=$!
fi
wait "$pid_a"
status_a=$?
wait "$pid_b"
status_b=$?
if [[ -n "${CI_OTHER_PYTHON:-}" ]]; then
  wait "$pid_c"
  status_c=$?
  other="exit ${status_c}"
fi

for half in a b c; do
  [[ -f "$logs/$half.log" ]] || continue
  echo "ci_slow: job ${half^^}"
  cat "$logs/$half.log"
done
echo "ci_slow: half A exit ${status_a}, half B exit ${status_b}, other Python ${other}"
for status in "$status_a" "$status_b" "$status_c"; do
  if ((status != 0)); then
    exit "$status"
  fi
done
