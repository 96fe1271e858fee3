#!/usr/bin/env bash
# Install the PostgreSQL server (Debian package) non-interactively if it is missing.
# The optimize tests start their own throw-away cluster with initdb on a free port on
# 127.0.0.1 (see tests/pg_server.py); set XSMOM_TEST_PG_URL to use an existing server instead.
# Without root (or passwordless sudo) or apt-get it installs nothing, says so and exits 0:
# the PostgreSQL tests are then skipped with one line in pytest's summary (under CI=true they
# fail instead, so CI always runs them).
set -euo pipefail

find_initdb() { ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1; }
cannot() {
    echo "postgres.sh: cannot install PostgreSQL ($1): postgres tests will be skipped;" \
        "install the 'postgresql' package or set XSMOM_TEST_PG_URL to run them"
    exit 0
}

if [ -n "${XSMOM_TEST_PG_URL:-}" ]; then
    echo "postgres.sh: using the server at XSMOM_TEST_PG_URL"
    exit 0
fi
if [ -n "$(find_initdb)" ]; then
    echo "postgres.sh: server present ($(find_initdb))"
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
$SUDO apt-get install -y -q --no-install-recommends postgresql
if [ -z "$(find_initdb)" ]; then
    echo "postgres.sh: postgresql installed but no initdb under /usr/lib/postgresql" >&2
    exit 1
fi
echo "postgres.sh: installed ($(find_initdb))"
