#!/usr/bin/env bash
# Starts a throwaway ClickHouse server for the storage tests: Debian's clickhouse-server (18.16 on
# bookworm), as the current user, in a fresh temporary directory, listening on free loopback ports only.
# Nothing outside that directory is read or written (the server gets its own config.xml and users.xml),
# so it never collides with a system-wide ClickHouse or with another run of this script.
#
# Prints shell assignments for `eval`, once the server answers `SELECT 1` over HTTP:
#   PATHWATCH_CLICKHOUSE_URL=clickhouse://default@127.0.0.1:PORT
#   PATHWATCH_CLICKHOUSE_DIR=/tmp/pathwatch-clickhouse.XXXXXX   (config, data, logs, server.pid)
# Usage:  env=$(scripts/start-clickhouse.sh) && eval "$env" && export PATHWATCH_CLICKHOUSE_URL
# Stop:   scripts/stop-clickhouse.sh "$PATHWATCH_CLICKHOUSE_DIR"
set -euo pipefail

server_bin=""
for candidate in clickhouse-server /usr/sbin/clickhouse-server /usr/bin/clickhouse-server; do
  if command -v "$candidate" >/dev/null 2>&1; then server_bin=$(command -v "$candidate"); break; fi
done
if [ -z "$server_bin" ]; then
  echo "start-clickhouse: clickhouse-server not found (apt-get install clickhouse-server)" >&2
  exit 1
fi

# A port the kernel just handed out and released is free with near certainty; the start below is retried
# with fresh ports should another process take one in between.
free_port() {
  node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{process.stdout.write(String(s.address().port));s.close()})"
}

# SELECT 1 over HTTP; node rather than curl because node is what this project always has.
answers_select_1() {
  node -e "
    fetch('http://127.0.0.1:$1/?query=SELECT%201', { signal: AbortSignal.timeout(1000) })
      .then(async (r) => process.exit(r.ok && (await r.text()).trim() === '1' ? 0 : 1), () => process.exit(1));
  "
}

write_config() {
  local dir=$1 http_port=$2 tcp_port=$3
  # No interserver_http_port, https or tcp_port_secure: a lone test server needs none of them.
  cat >"$dir/config.xml" <<EOF
<?xml version="1.0"?>
<yandex>
    <logger>
        <level>warning</level>
        <log>$dir/log/clickhouse-server.log</log>
        <errorlog>$dir/log/clickhouse-server.err.log</errorlog>
        <size>100M</size>
        <count>1</count>
    </logger>
    <listen_host>127.0.0.1</listen_host>
    <http_port>$http_port</http_port>
    <tcp_port>$tcp_port</tcp_port>
    <path>$dir/data/</path>
    <tmp_path>$dir/tmp/</tmp_path>
    <user_files_path>$dir/user_files/</user_files_path>
    <format_schema_path>$dir/format_schemas/</format_schema_path>
    <users_config>$dir/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
    <max_concurrent_queries>100</max_concurrent_queries>
    <mark_cache_size>268435456</mark_cache_size>
    <uncompressed_cache_size>268435456</uncompressed_cache_size>
    <mlock_executable>false</mlock_executable>
</yandex>
EOF
  cat >"$dir/users.xml" <<EOF
<?xml version="1.0"?>
<yandex>
    <profiles>
        <default>
            <max_memory_usage>4000000000</max_memory_usage>
        </default>
    </profiles>
    <users>
        <default>
            <password></password>
            <networks>
                <ip>127.0.0.1</ip>
                <ip>::1</ip>
            </networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
    </users>
    <quotas>
        <default>
            <interval>
                <duration>3600</duration>
                <queries>0</queries>
                <errors>0</errors>
                <result_rows>0</result_rows>
                <read_rows>0</read_rows>
                <execution_time>0</execution_time>
            </interval>
        </default>
    </quotas>
</yandex>
EOF
}

dir=$(mktemp -d "${TMPDIR:-/tmp}/pathwatch-clickhouse.XXXXXX")
mkdir -p "$dir/log" "$dir/data" "$dir/tmp" "$dir/user_files" "$dir/format_schemas"

for attempt in 1 2 3; do
  http_port=$(free_port)
  tcp_port=$(free_port)
  [ "$http_port" != "$tcp_port" ] || continue
  write_config "$dir" "$http_port" "$tcp_port"
  # Own session and no inherited stdout: the caller's `$(...)` must not wait for the server to exit.
  (cd "$dir" && exec setsid "$server_bin" --config-file="$dir/config.xml" \
    </dev/null >>"$dir/log/stdout.log" 2>&1) &
  pid=$!
  echo "$pid" >"$dir/server.pid"
  for _ in $(seq 1 150); do
    if answers_select_1 "$http_port"; then
      printf 'PATHWATCH_CLICKHOUSE_URL=%q\n' "clickhouse://default@127.0.0.1:$http_port"
      printf 'PATHWATCH_CLICKHOUSE_DIR=%q\n' "$dir"
      echo "start-clickhouse: listening on 127.0.0.1:$http_port (pid $pid, $dir)" >&2
      exit 0
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  echo "start-clickhouse: attempt $attempt failed; last log lines:" >&2
  tail -n 5 "$dir/log/clickhouse-server.err.log" "$dir/log/stdout.log" >&2 2>/dev/null || true
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
done
echo "start-clickhouse: the server did not answer SELECT 1; see $dir/log" >&2
exit 1
