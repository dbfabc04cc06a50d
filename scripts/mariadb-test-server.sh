#!/usr/bin/env bash
# Start a private MariaDB server for the test suite, run a command against it, stop it.
#   scripts/mariadb-test-server.sh COMMAND ARGS...
# The command sees TEST_DATABASE_URL. Installs Debian's mariadb-server when missing.
set -euo pipefail

PORT="${MARIADB_TEST_PORT:-33306}"
# The tests' data is small; the daily-job bench's 1,000,000 loans want a pool they fit in.
BUFFER_POOL="${MARIADB_BUFFER_POOL:-256M}"
DIR="$(mktemp -d /tmp/ddt-mariadb.XXXXXX)"
SOCK="$DIR/mysqld.sock"

if ! command -v mariadbd >/dev/null 2>&1; then
  echo "Installing mariadb-server from Debian's packages…"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mariadb-server >/dev/null
fi

cleanup() {
  if [ -f "$DIR/mysqld.pid" ]; then
    kill "$(cat "$DIR/mysqld.pid")" 2>/dev/null || true
    for _ in $(seq 1 50); do [ -f "$DIR/mysqld.pid" ] || break; sleep 0.2; done
  fi
  rm -rf "$DIR"
}
trap cleanup EXIT

mariadb-install-db --user=root --datadir="$DIR/data" --auth-root-authentication-method=socket \
  --skip-test-db >"$DIR/install.log" 2>&1 || { cat "$DIR/install.log"; exit 1; }

# --user=root: CI runs as root, and mariadbd refuses to run as root unless told.
mariadbd --user=root --datadir="$DIR/data" --socket="$SOCK" --pid-file="$DIR/mysqld.pid" \
  --port="$PORT" --bind-address=127.0.0.1 --skip-name-resolve \
  --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci \
  --innodb-flush-log-at-trx-commit=2 --innodb-buffer-pool-size="$BUFFER_POOL" \
  --log-error="$DIR/error.log" >/dev/null 2>&1 &

for _ in $(seq 1 100); do
  mariadb --socket="$SOCK" -uroot -e "SELECT 1" >/dev/null 2>&1 && break
  sleep 0.2
done
mariadb --socket="$SOCK" -uroot -e "SELECT 1" >/dev/null || { echo "MariaDB did not start:"; cat "$DIR/error.log"; exit 1; }

mariadb --socket="$SOCK" -uroot <<SQL
CREATE USER 'ddt'@'127.0.0.1' IDENTIFIED BY 'ddt';
GRANT ALL PRIVILEGES ON *.* TO 'ddt'@'127.0.0.1';
SQL

echo "MariaDB $(mariadbd --version | awk '{print $3}') on 127.0.0.1:$PORT"
export TEST_DATABASE_URL="mysql+pymysql://ddt:ddt@127.0.0.1:$PORT/ddt_test?charset=utf8mb4"
"$@"
