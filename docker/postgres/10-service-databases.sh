#!/bin/sh
# One database and one login role per service, so that no service can read another's tables.
#
# Run by the postgres image on the first start of an empty volume (/docker-entrypoint-initdb.d),
# and natively by scripts/check_compose.py against the local server. Idempotent.
#
#   SERVICE_DATABASES   services to create (default: volunteers activities notifications)
#   DB_PREFIX           prefix of role and database names (empty in containers)
#   <SERVICE>_DB_PASSWORD  password of each service's role (required)
#   POSTGRES_USER, POSTGRES_DB, PGHOST...  how psql connects (set by the postgres image)
set -eu

: "${SERVICE_DATABASES:=volunteers activities notifications}"
: "${DB_PREFIX:=}"

for service in $SERVICE_DATABASES; do
    name="${DB_PREFIX}${service}"
    var="$(echo "$service" | tr '[:lower:]' '[:upper:]')_DB_PASSWORD"
    password="$(printenv "$var" || true)"
    if [ -z "$password" ]; then
        echo "init: $var is not set; refusing to create role $name without a password" >&2
        exit 1
    fi
    echo "init: role and database $name"
    # psql variables (:'name') quote the values, so a password may hold any character.
    psql -v ON_ERROR_STOP=1 --no-psqlrc --quiet \
        --username "${POSTGRES_USER:-postgres}" --dbname "${POSTGRES_DB:-postgres}" \
        -v name="$name" -v password="$password" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN', :'name')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'name') \gexec
SELECT format('ALTER ROLE %I WITH LOGIN PASSWORD %L', :'name', :'password') \gexec
SELECT format('CREATE DATABASE %I OWNER %I ENCODING %L TEMPLATE template0', :'name', :'name', 'UTF8')
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'name') \gexec
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', :'name') \gexec
SQL
done
