#!/usr/bin/env bash
# Install the PostgreSQL server (Debian package) non-interactively if it is missing.
# The optimize tests start their own throw-away cluster with initdb on a free port on
# 127.0.0.1 (see tests/integration/optimize_pg_server.py); set XSMOM_TEST_PG_URL to use an
# existing server instead.
set -euo pipefail

find_initdb() { ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1; }

if [ -n "$(find_initdb)" ]; then
    echo "postgres.sh: server present ($(find_initdb))"
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends postgresql
if [ -z "$(find_initdb)" ]; then
    echo "postgres.sh: postgresql installed but no initdb under /usr/lib/postgresql" >&2
    exit 1
fi
echo "postgres.sh: installed ($(find_initdb))"
