#!/usr/bin/env bash
# The README's test command: install if needed, then run the whole suite.
# pytest exits non-zero when a test fails and with 5 when no test ran; both fail.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q -c constraints.txt -e ".[dev]"
export SDL_VIDEODRIVER=dummy MPLBACKEND=Agg
python3 -m pytest -q -p no:cacheprovider "$@"
