#!/usr/bin/env bash
# CI's second half: the tests marked `slow` that the README's command skips, as two pytest
# processes side by side on the machine's two cores (in series they took 12 of CI's 19 minutes on
# a slow 2-core machine). Most of them wait: on subprocesses killed and restarted, deadlines,
# backoffs, a 60-second soak, pip installing from the lock. Each PostgreSQL test works in a fresh
# schema of its own, so the two halves never share a table.
#
# Half A: the reliability suite and the other multi-process ledger and fleet tests; half B: the
# rest. Each half's output is printed whole when both are done; the exit status is the first
# failing half's, else 0.
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
wait "$pid_a"
status_a=$?
wait "$pid_b"
status_b=$?

for half in a b; do
  echo "ci_slow: half ${half^^}"
  cat "$logs/$half.log"
done
echo "ci_slow: half A exit ${status_a}, half B exit ${status_b}"
if ((status_a != 0)); then
  exit "$status_a"
fi
exit "$status_b"
