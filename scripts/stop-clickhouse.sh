#!/usr/bin/env bash
# Stops a server started by scripts/start-clickhouse.sh and removes its directory.
# Usage: scripts/stop-clickhouse.sh DIR   (DIR: the PATHWATCH_CLICKHOUSE_DIR it printed)
set -euo pipefail
dir=${1:?usage: stop-clickhouse.sh DIR}
# Only directories this project's start script made: a wrong argument must not delete anything else.
case "$(basename "$dir")" in
  pathwatch-clickhouse.*) ;;
  *) echo "stop-clickhouse: $dir is not a directory made by start-clickhouse.sh" >&2; exit 1 ;;
esac
if [ -f "$dir/server.pid" ]; then
  pid=$(cat "$dir/server.pid")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    # ClickHouse finishes running queries before it exits; give it 15 s, then stop waiting politely.
    for _ in $(seq 1 75); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
fi
rm -rf "$dir"
