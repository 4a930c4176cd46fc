#!/bin/sh
# Makes the secrets pathwatch's deployments read, one file each in this directory (git ignores them):
#
#   ingest_token          bearer token the agents present to the collector's ingest
#   read_token            bearer token for the collector's query API, UI, exports and metrics
#   clickhouse_password   password of the collector's ClickHouse user (hex: no escaping in the store URL)
#
# Files that exist are kept; --force makes new ones. --kubernetes then prints the same values as the
# Secrets of deploy/kubernetes/secret.yaml (pathwatch-tokens, pathwatch-clickhouse), for
#   deploy/secrets/generate.sh --kubernetes > deploy/kubernetes/secret.yaml   (real values: do not commit)
# PATHWATCH_SECRETS_DIR writes them elsewhere.
set -eu

dir=${PATHWATCH_SECRETS_DIR:-$(dirname "$0")}
force=0
kubernetes=0
for arg in "$@"; do
  case $arg in
    --force) force=1 ;;
    --kubernetes) kubernetes=1 ;;
    -h | --help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "generate.sh: unknown argument $arg (see --help)" >&2; exit 2 ;;
  esac
done

# 24 random bytes as 48 hex digits.
random_hex() { od -An -N24 -tx1 /dev/urandom | tr -d ' \n'; }

mkdir -p "$dir"
# Nobody else on this host gets into the directory. The files themselves are readable by all who
# can reach them: in Compose they are bind-mounted as they are, and the collector (uid 1000) and the
# agent (root without CAP_DAC_OVERRIDE) must both read them.
chmod 0700 "$dir"
for name in ingest_token read_token clickhouse_password; do
  file="$dir/$name"
  if [ "$force" = 0 ] && [ -s "$file" ]; then continue; fi
  (umask 077 && random_hex > "$file.new")
  chmod 0644 "$file.new"
  mv "$file.new" "$file"
  echo "generate.sh: wrote $file" >&2
done

if [ "$kubernetes" = 1 ]; then
  b64() { tr -d '\n' < "$dir/$1" | base64 | tr -d '\n'; }
  cat <<YAML
# pathwatch's Secrets, made by deploy/secrets/generate.sh --kubernetes. REAL VALUES: do not commit.
apiVersion: v1
kind: Secret
metadata:
  name: pathwatch-tokens
  namespace: pathwatch
type: Opaque
data:
  ingest-token: $(b64 ingest_token)
  read-token: $(b64 read_token)
---
apiVersion: v1
kind: Secret
metadata:
  name: pathwatch-clickhouse
  namespace: pathwatch
type: Opaque
data:
  password: $(b64 clickhouse_password)
YAML
fi
