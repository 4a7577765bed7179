#!/usr/bin/env bash
# Starts a throwaway PostgreSQL 15 cluster from the machine's binaries, for tests and benchmarks.
#   eval "$(scripts/throwaway-postgres.sh start)"   # prints export lines: PG_TMP, PG_PORT, TEST_DATABASE_URL
#   scripts/throwaway-postgres.sh stop "$PG_TMP"
# initdb refuses to run as root, so as root the cluster belongs to the `postgres` user.
set -euo pipefail

find_bin() {
  for d in /usr/lib/postgresql/15/bin "$(pg_config --bindir 2>/dev/null || true)"; do
    [ -x "$d/initdb" ] && { echo "$d"; return; }
  done
  echo "throwaway-postgres: PostgreSQL 15 binaries not found (install Debian's postgresql-15)" >&2
  exit 1
}

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

case "${1:-}" in
  start)
    bin=$(find_bin)
    tmp=$(mktemp -d /tmp/robbieverse-pg.XXXXXX)
    chmod 755 "$tmp"
    [ "$(id -u)" = 0 ] && chown postgres: "$tmp"
    port=$(free_port)
    as_owner "$bin/initdb" -D "$tmp/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$tmp/initdb.log" 2>&1 ||
      { cat "$tmp/initdb.log" >&2; exit 1; }
    as_owner "$bin/pg_ctl" -D "$tmp/data" -l "$tmp/server.log" -w -t 60 \
      -o "-p $port -k $tmp -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null ||
      { cat "$tmp/server.log" >&2; exit 1; }
    echo "export PG_TMP=$tmp PG_PORT=$port PG_BIN=$bin"
    echo "export TEST_DATABASE_URL=postgres://postgres@127.0.0.1:$port/postgres"
    ;;
  stop)
    tmp=${2:?usage: throwaway-postgres.sh stop DIR}
    bin=$(find_bin)
    as_owner "$bin/pg_ctl" -D "$tmp/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$tmp"
    ;;
  *)
    echo "usage: $0 start | stop DIR" >&2
    exit 2
    ;;
esac
