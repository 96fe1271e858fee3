#!/usr/bin/env bash
# Install headless Chromium and its WebDriver (Debian packages) non-interactively if missing.
# The report tests open every HTML report in /usr/bin/chromium through /usr/bin/chromedriver
# with Selenium (tests/report_browser.py); nothing is downloaded at test time.
set -euo pipefail

if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
    echo "browser.sh: present ($(/usr/bin/chromium --version 2>/dev/null || echo chromium))"
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends chromium chromium-driver
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
    echo "browser.sh: chromium installed but /usr/bin/chromium or /usr/bin/chromedriver missing" >&2
    exit 1
fi
echo "browser.sh: installed ($(/usr/bin/chromium --version 2>/dev/null || echo chromium))"
