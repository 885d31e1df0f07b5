#!/usr/bin/env bash
# Maintainer script (not run by CI): records REAL Debezium Postgres output into test/fixtures/debezium/<mode>/*.jsonl,
# once with the JsonConverter's schemas (mode "schemas") and once without (mode "schemaless").
# Needs the running stack (Kafka, Postgres with wal_level=logical; `node bin/duckhouse.js stack up`), java 17, mvn,
# psql and the project's node_modules. Fetches Kafka Connect + Debezium from Maven Central into
# .stack/cache/debezium-<version>/, creates the database dbz_fixtures, runs Connect standalone on 127.0.0.1:18083,
# applies scripts/debezium/changes.sql, captures the topics, then stops Connect and drops the slot, the database and
# the dbzfix.* topics.
# Must never: stop or restart the shared stack, touch other databases/slots/topics, or leave a process behind.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HERE="$ROOT/scripts/debezium"
cd "$ROOT"

KAFKA_VERSION="${KAFKA_VERSION:-3.9.2}"                 # the broker's version (src/stack/components/kafka.ts)
DEBEZIUM_VERSION="${DEBEZIUM_VERSION:-3.7.0.Final}"     # newest release on Maven Central that runs on Connect 3.9 + Java 17
REST_PORT="${REST_PORT:-18083}"
DB=dbz_fixtures
SLOT=dbzfix_slot
PUBLICATION=dbzfix_pub
TOPICS=(dbzfix.public.all_types dbzfix.public.full_identity)
CACHE="$ROOT/.stack/cache/debezium-$DEBEZIUM_VERSION"
OUT="$ROOT/test/fixtures/debezium"
LOGS="$ROOT/.stack/logs"
STACK_JSON="$ROOT/.stack/stack.json"

log() { echo "[debezium-fixtures] $*"; }
die() { echo "[debezium-fixtures] error: $*" >&2; exit 1; }

for tool in java mvn psql jq node; do command -v "$tool" >/dev/null || die "needs \`$tool\` on PATH"; done
[[ -f "$STACK_JSON" ]] || die "no $STACK_JSON: start the stack first (node bin/duckhouse.js stack up)"
BROKER="$(jq -r '.kafka.brokers[0]' "$STACK_JSON")"
PG_HOST="$(jq -r '.postgres.host' "$STACK_JSON")"
PG_PORT="$(jq -r '.postgres.port' "$STACK_JSON")"
PG_USER="$(jq -r '.postgres.user' "$STACK_JSON")"
export PGPASSWORD="$(jq -r '.postgres.password' "$STACK_JSON")"
ADMIN_DB="$(jq -r '.postgres.database' "$STACK_JSON")"
psql_admin() { psql -X -q -v ON_ERROR_STOP=1 -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d "$ADMIN_DB" "$@"; }
psql_fix() { psql -X -q -v ON_ERROR_STOP=1 -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d "$DB" "$@"; }
kafka_tool() { node "$HERE/kafka-tool.mjs" "$1" "$BROKER" "${@:2}"; }

# ---- 1. jars from Maven Central (cached) ----
# Connect's runtime classpath plus a logging backend (the published POMs have none), and Debezium's plugin folder
# without the Kafka jars it was compiled against (Connect provides those; a second kafka-clients would shadow them).
fetch_jars() {
  [[ -f "$CACHE/.complete" ]] && return
  log "fetching connect-runtime/connect-json $KAFKA_VERSION and debezium-connector-postgres $DEBEZIUM_VERSION…"
  rm -rf "$CACHE"
  mkdir -p "$CACHE/pom-connect" "$CACHE/pom-debezium" "$LOGS"
  local dep='<dependency><groupId>%s</groupId><artifactId>%s</artifactId><version>%s</version>%s</dependency>\n'
  local no_kafka='<exclusions><exclusion><groupId>org.apache.kafka</groupId><artifactId>*</artifactId></exclusion></exclusions>'
  write_pom "$CACHE/pom-connect/pom.xml" connect "$(printf "$dep" org.apache.kafka connect-runtime "$KAFKA_VERSION" '' \
    org.apache.kafka connect-json "$KAFKA_VERSION" '' org.slf4j slf4j-reload4j 1.7.36 '' ch.qos.reload4j reload4j 1.2.25 '')"
  write_pom "$CACHE/pom-debezium/pom.xml" debezium "$(printf "$dep" io.debezium debezium-connector-postgres "$DEBEZIUM_VERSION" "$no_kafka")"
  (cd "$CACHE/pom-connect" && mvn -B -q -Dstyle.color=never dependency:copy-dependencies -DincludeScope=runtime \
    -DoutputDirectory="$CACHE/connect-libs") >> "$LOGS/debezium-fixtures-install.log" 2>&1 ||
    die "mvn failed for Kafka Connect, see $LOGS/debezium-fixtures-install.log"
  (cd "$CACHE/pom-debezium" && mvn -B -q -Dstyle.color=never dependency:copy-dependencies -DincludeScope=runtime \
    -DexcludeGroupIds=org.apache.kafka -DoutputDirectory="$CACHE/plugins/debezium-connector-postgres") \
    >> "$LOGS/debezium-fixtures-install.log" 2>&1 || die "mvn failed for Debezium, see $LOGS/debezium-fixtures-install.log"
  printf 'log4j.rootLogger=INFO, stdout\nlog4j.appender.stdout=org.apache.log4j.ConsoleAppender\nlog4j.appender.stdout.layout=org.apache.log4j.PatternLayout\nlog4j.appender.stdout.layout.ConversionPattern=[%%d] %%p %%m (%%c)%%n\nlog4j.logger.org.reflections=ERROR\n' \
    > "$CACHE/log4j.properties"
  touch "$CACHE/.complete"
}
write_pom() {
  cat > "$1" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.duckhouse.fixtures</groupId>
  <artifactId>$2-classpath</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
$3
  </dependencies>
</project>
EOF
}

# ---- 2. cleanup: Connect, the slot, the database, the topics ----
CONNECT_PID=""
WORK=""
stop_connect() {
  if [[ -n "$CONNECT_PID" ]] && kill -0 "$CONNECT_PID" 2>/dev/null; then
    log "stopping Kafka Connect (pid $CONNECT_PID)…"
    kill "$CONNECT_PID"
    for _ in $(seq 1 60); do kill -0 "$CONNECT_PID" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$CONNECT_PID" 2>/dev/null && kill -9 "$CONNECT_PID"
    wait "$CONNECT_PID" 2>/dev/null || true
  fi
  CONNECT_PID=""
}
drop_database() {
  # The slot pins the database (DROP DATABASE refuses while it exists); wait until Connect has let go of it.
  for _ in $(seq 1 30); do
    [[ "$(psql_admin -Atc "select count(*) from pg_replication_slots where slot_name = '$SLOT' and active")" == 0 ]] && break
    sleep 1
  done
  psql_admin -c "select pg_drop_replication_slot('$SLOT') from pg_replication_slots where slot_name = '$SLOT'" >/dev/null
  psql_admin -c "DROP DATABASE IF EXISTS $DB" # the publication lives in it
}
cleanup() {
  local status=$?
  stop_connect
  drop_database || log "warning: could not drop the slot $SLOT or the database $DB"
  kafka_tool reset dbzfix. >/dev/null || log "warning: could not delete the dbzfix.* topics"
  [[ -n "$WORK" ]] && rm -rf "$WORK"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fill() { # template → file, replacing @NAME@ with the values given as NAME=value
  local text
  text="$(cat "$1")"
  for pair in "${@:3}"; do text="${text//@${pair%%=*}@/${pair#*=}}"; done
  printf '%s\n' "$text" > "$2"
}

# ---- 3. one run per converter mode ----
run_mode() {
  local mode="$1" schemas_enable="$2"
  log "== mode $mode (schemas.enable=$schemas_enable)"
  drop_database
  kafka_tool reset dbzfix.
  psql_admin -c "CREATE DATABASE $DB"
  psql_fix -f "$HERE/schema.sql"

  WORK="$(mktemp -d -t dbz-fixtures.XXXXXX)"
  fill "$HERE/connect-standalone.properties.template" "$WORK/worker.properties" "MODE=$mode" "BOOTSTRAP=$BROKER" \
    "REST_PORT=$REST_PORT" "PLUGIN_PATH=$CACHE/plugins" "SCHEMAS_ENABLE=$schemas_enable" "OFFSETS_FILE=$WORK/offsets"
  fill "$HERE/postgres-connector.properties.template" "$WORK/connector.properties" "PG_HOST=$PG_HOST" "PG_PORT=$PG_PORT" \
    "PG_USER=$PG_USER" "PG_PASSWORD=$PGPASSWORD" "PG_DATABASE=$DB" "SLOT=$SLOT" "PUBLICATION=$PUBLICATION"
  local log_file="$LOGS/debezium-fixtures-$mode.log"
  log "starting Kafka Connect $KAFKA_VERSION standalone (log: $log_file)…"
  java -Xms128m -Xmx512m -Djava.awt.headless=true "-Dlog4j.configuration=file:$CACHE/log4j.properties" \
    -cp "$CACHE/connect-libs/*" org.apache.kafka.connect.cli.ConnectStandalone \
    "$WORK/worker.properties" "$WORK/connector.properties" > "$log_file" 2>&1 &
  CONNECT_PID=$!

  log "waiting for the snapshot (3 + 2 rows)…"
  kafka_tool wait "${TOPICS[0]}=3" "${TOPICS[1]}=2"
  curl -fsS "http://127.0.0.1:$REST_PORT/connectors/dbzfix/status" | jq -c '{connector: .connector.state, tasks: [.tasks[].state]}'
  # Streaming starts right after the snapshot; changes made in between are still read from the slot.
  log "applying changes.sql…"
  psql_fix -f "$HERE/changes.sql"
  log "capturing…"
  rm -rf "${OUT:?}/$mode"
  kafka_tool capture "$OUT/$mode" dbzfix. "${TOPICS[@]}"
  grep -E ' ERROR ' "$log_file" | head -5 || true
  stop_connect
  rm -rf "$WORK"
  WORK=""
}

fetch_jars
(echo >"/dev/tcp/127.0.0.1/$REST_PORT") 2>/dev/null && die "port $REST_PORT is in use"
run_mode schemas true
run_mode schemaless false
log "done: $(find "$OUT" -name '*.jsonl' | sort | tr '\n' ' ')"
