#!/usr/bin/env bash
# Follow the README literally on a fresh clone: clone the repository into a temporary directory,
# take the quick-start commands from README.md (the ```bash blocks between the
# `<!-- quickstart:begin` and `<!-- quickstart:end -->` markers, so this script and the README
# cannot drift) and run them there, in order. Exit status: that of the first command that fails.
#
# Usage: scripts/fresh_clone_check.sh [REPO]   REPO: a path or URL; default: the repository
#        containing the current directory. Only committed work is cloned. KEEP=1 keeps the clone.
set -euo pipefail

source_repo="${1:-$(git rev-parse --show-toplevel)}"
work="$(mktemp -d "${TMPDIR:-/tmp}/fresh-clone.XXXXXX")"
if [[ "${KEEP:-0}" != 1 ]]; then
  trap 'rm -rf "$work"' EXIT
fi

git clone --quiet "$source_repo" "$work/repo"
cd "$work/repo"

mapfile -t commands < <(awk '
  /<!-- quickstart:begin/ { inside = 1; next }
  /<!-- quickstart:end -->/ { inside = 0 }
  inside && /^```bash$/ { fenced = 1; next }
  inside && /^```$/ { fenced = 0; next }
  inside && fenced && NF { print }
' README.md)

if [[ "${#commands[@]}" -ne 2 ]]; then
  echo "fresh_clone_check: expected 2 quick-start commands in README.md, found ${#commands[@]}" >&2
  exit 2
fi

# A throwaway data directory: the demo's ledger and chart leave no trace on this machine.
export XDG_DATA_HOME="$work/data"
unset ROUTER_LEDGER_URL VIRTUAL_ENV
for command in "${commands[@]}"; do
  echo "fresh_clone_check: \$ $command" >&2
  bash -euo pipefail -c "$command"
done
echo "fresh_clone_check: OK, the README's quick start passed on a fresh clone of $source_repo" >&2
