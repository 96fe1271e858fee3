#!/usr/bin/env bash
# Install headless Chromium and its WebDriver (Debian packages) non-interactively if missing.
# The report tests open every HTML report in /usr/bin/chromium through /usr/bin/chromedriver
# with Selenium (tests/report_browser.py); nothing is downloaded at test time.
# Without root (or passwordless sudo) or apt-get it installs nothing, says so and exits 0: the
# browser tests are then skipped with one line in pytest's summary (under CI=true they fail
# instead, so CI always runs them).
set -euo pipefail

present() { [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; }
cannot() {
    echo "browser.sh: cannot install Chromium ($1): browser tests will be skipped;" \
        "install the 'chromium' and 'chromium-driver' packages to run them"
    exit 0
}

if present; then
    echo "browser.sh: present ($(/usr/bin/chromium --version 2>/dev/null || echo chromium))"
    exit 0
fi
command -v apt-get >/dev/null 2>&1 || cannot "no apt-get on this machine"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO="sudo -n"
    else
        cannot "not root and no passwordless sudo"
    fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends chromium chromium-driver
if ! present; then
    echo "browser.sh: chromium installed but /usr/bin/chromium or /usr/bin/chromedriver missing" >&2
    exit 1
fi
echo "browser.sh: installed ($(/usr/bin/chromium --version 2>/dev/null || echo chromium))"
