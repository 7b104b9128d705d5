#!/usr/bin/env bash
# Starts the local PostgreSQL (Debian's package) and makes a fresh, empty
# database for the PostgreSQL tests; its role may create databases (the
# several-process tests make one per test file, perse_test_<random>, and
# those a previous run left are dropped here). Prints the URL to use as PG_TEST_URL.
set -euo pipefail
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
cluster=$(pg_lsclusters -h 2>/dev/null | awk 'NR==1 {print $1" "$2}')
if [ -z "$cluster" ]; then echo "start-test-postgres: no PostgreSQL cluster (apt-get install postgresql)" >&2; exit 1; fi
# shellcheck disable=SC2086
$SUDO pg_ctlcluster $cluster start >&2 2>/dev/null || true
port=$(pg_lsclusters -h | awk 'NR==1 {print $3}')
as_pg() { $SUDO su postgres -c "$1"; }
as_pg "psql -p $port -qc \"DROP DATABASE IF EXISTS perse_test\"" >&2
for db in $(as_pg "psql -p $port -Atc \"SELECT datname FROM pg_database WHERE datname LIKE 'perse\\_test\\_%'\""); do
  as_pg "psql -p $port -qc \"DROP DATABASE IF EXISTS $db\"" >&2
done
as_pg "psql -p $port -qc \"DO \\\$\\\$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'perse') THEN CREATE ROLE perse LOGIN PASSWORD 'perse'; END IF; END \\\$\\\$\"" >&2
as_pg "psql -p $port -qc \"CREATE DATABASE perse_test OWNER perse\"" >&2
as_pg "psql -p $port -qc \"ALTER ROLE perse CREATEDB\"" >&2
echo "postgres://perse:perse@127.0.0.1:$port/perse_test"
