#!/usr/bin/env bash
# A throwaway PostgreSQL server for the store's tests (`.ci/run` uses it): a cluster in a temp
# directory, owned by the `postgres` user (initdb refuses root), trust authentication on
# 127.0.0.1 only, one database.
#
#   url=$(bash scripts/postgres.sh start DIR [PORT])   # prints postgres://postgres@127.0.0.1:PORT/lapse_test
#   bash scripts/postgres.sh stop DIR
set -euo pipefail
ACTION=$1
DIR=$2
PORT=${3:-55432}
find_bin() {
  local bin
  bin=$(ls -d /usr/lib/postgresql/*/bin 2> /dev/null | sort -V | tail -1 || true)
  if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
    apt-get install -y postgresql > /dev/null 2>&1
    bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  fi
  echo "$bin"
}
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
BIN=$(find_bin)
# The postgres user's tools start by entering the working directory: use one it can enter.
cd /
case "$ACTION" in
  start)
    mkdir -p "$DIR"
    if [ "$(id -u)" = 0 ]; then
      # The postgres user must reach DIR: a mktemp parent is root-only.
      chmod 755 "$(dirname "$DIR")"
      chown postgres "$DIR"
    fi
    as_postgres "$BIN/initdb" -D "$DIR/data" -A trust -U postgres > "$DIR/initdb.log" 2>&1
    as_postgres "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -o "-p $PORT -k $DIR -c listen_addresses=127.0.0.1 -c fsync=on" -w start > /dev/null
    as_postgres "$BIN/createdb" -h 127.0.0.1 -p "$PORT" -U postgres lapse_test
    echo "postgres://postgres@127.0.0.1:$PORT/lapse_test"
    ;;
  stop)
    as_postgres "$BIN/pg_ctl" -D "$DIR/data" -m fast -w stop > /dev/null
    ;;
  *)
    echo "usage: postgres.sh start|stop DIR [PORT]" >&2
    exit 2
    ;;
esac
