#!/usr/bin/env bash
# One-shot Superset setup for docker-compose.yml (service superset-init). Safe to run again: the metadata upgrade is
# idempotent, an existing admin is left alone, and the database entry is created or its URI updated.
set -euo pipefail
# The official image sets FLASK_APP; a Superset installed with pip does not.
export FLASK_APP="${FLASK_APP:-superset.app:create_app()}"

: "${SUPERSET_ADMIN_USER:=admin}"
: "${SUPERSET_ADMIN_PASSWORD:?set SUPERSET_ADMIN_PASSWORD}"
: "${SUPERSET_ADMIN_EMAIL:=admin@duckhouse.local}"
: "${DUCKHOUSE_TRINO_DATABASE:=DuckHouse (Trino)}"
: "${DUCKHOUSE_TRINO_URI:=trino://duckhouse@trino:8080/duckhouse}"

echo "superset-init: upgrading the metadata database"
superset db upgrade

echo "superset-init: admin user ${SUPERSET_ADMIN_USER}"
superset fab create-admin \
  --username "${SUPERSET_ADMIN_USER}" \
  --password "${SUPERSET_ADMIN_PASSWORD}" \
  --firstname DuckHouse \
  --lastname Admin \
  --email "${SUPERSET_ADMIN_EMAIL}"

echo "superset-init: roles and permissions"
superset init

echo "superset-init: database \"${DUCKHOUSE_TRINO_DATABASE}\" → ${DUCKHOUSE_TRINO_URI}"
superset set-database-uri --database_name "${DUCKHOUSE_TRINO_DATABASE}" --uri "${DUCKHOUSE_TRINO_URI}"

echo "superset-init: done"
