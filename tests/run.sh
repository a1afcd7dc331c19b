#!/usr/bin/env bash
# The README's test command: install what is missing, then run the whole suite.
# pytest exits non-zero when a test fails and with 5 when no test ran; both fail.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q -c constraints.txt -e ".[dev,ray,pettingzoo]"
# The report test renders report.html in headless Chromium (Debian's package).
if ! command -v chromium >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
            || echo "tests/run.sh: could not install chromium; the browser test will be skipped" >&2
    else
        echo "tests/run.sh: chromium not found (apt-get install chromium); the browser test will be skipped" >&2
    fi
fi
export SDL_VIDEODRIVER=dummy MPLBACKEND=Agg
python3 -m pytest -p no:cacheprovider "$@"
