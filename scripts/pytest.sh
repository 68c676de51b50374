#!/usr/bin/env bash
# Run pytest with the given Python and arguments; a run that collects no tests fails.
#   bash scripts/pytest.sh PYTHON [PYTEST ARGS]
set -uo pipefail
python=${1:?usage: scripts/pytest.sh PYTHON [PYTEST ARGS]}
shift
"$python" -m pytest "$@"
rc=$?
if [ "$rc" -eq 5 ]; then
  echo "pytest collected no tests: treating as failure" >&2
  exit 1
fi
exit "$rc"
