#!/usr/bin/env bash
# Follow the README literally on a fresh clone: clone the repository into a temporary directory,
# take the quick-start commands from README.md (the ```bash blocks between the
# `<!-- quickstart:begin` and `<!-- quickstart:end -->` markers, so this script and the README
# cannot drift) and run them there, in order. Exit status: that of the first command that fails.
#
# Usage: scripts/fresh_clone_check.sh [REPO [-- COMMAND...]]
#   REPO     a path or URL; default: the repository containing the current directory. Only
#            committed work is cloned.
#   COMMAND  run in the clone after the README's two commands (CI runs the `slow` tests there,
#            with the venv the quick start built).
# Environment:
#   PYTHON=python3.12   the interpreter the README's `python3` means (a name on PATH or a path);
#                       default: whatever `python3` is. The venv then brings that Python's pip.
#   KEEP=1              keep the clone (its path is printed).
set -euo pipefail

source_repo="${1:-$(git rev-parse --show-toplevel)}"
shift || true
if [[ "${1:-}" == "--" ]]; then
  shift
fi
work="$(mktemp -d "${TMPDIR:-/tmp}/fresh-clone.XXXXXX")"
if [[ "${KEEP:-0}" != 1 ]]; then
  trap 'rm -rf "$work"' EXIT
else
  echo "fresh_clone_check: keeping $work" >&2
fi

if [[ -n "${PYTHON:-}" ]]; then
  # The README says `python3`: put a `python3` that runs the chosen interpreter first on PATH.
  interpreter="$(command -v "$PYTHON")" || { echo "fresh_clone_check: no $PYTHON" >&2; exit 2; }
  mkdir -p "$work/bin"
  printf '#!/bin/sh\nexec %q "$@"\n' "$interpreter" >"$work/bin/python3"
  chmod +x "$work/bin/python3"
  export PATH="$work/bin:$PATH"
fi
echo "fresh_clone_check: python3 is $(python3 -c 'import sys; print(sys.version.split()[0])')," \
  "its venv brings pip $(python3 -c 'import ensurepip; print(ensurepip.version())')" >&2

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
  SECONDS=0
  bash -euo pipefail -c "$command"
  echo "fresh_clone_check: took ${SECONDS}s" >&2
done
if [[ "$#" -gt 0 ]]; then
  echo "fresh_clone_check: \$ $*" >&2
  SECONDS=0
  "$@"
  echo "fresh_clone_check: took ${SECONDS}s" >&2
fi
echo "fresh_clone_check: OK, the README's quick start passed on a fresh clone of $source_repo" >&2
