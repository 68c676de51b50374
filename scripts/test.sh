#!/usr/bin/env bash
# Set up .venv/ (see scripts/setup.sh), check lint and format (ruff) and types (mypy), and run
# the test suite.
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -m slow` for the slow tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Lint, format and types first: a finding fails the run in seconds, before the long tests.
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/python -m mypy  # lircdepth and lircdepth_ros, as [tool.mypy] in pyproject.toml says
exec bash scripts/pytest.sh .venv/bin/python "$@"
