#!/usr/bin/env bash
# One database and one role per service and the gateway; each role owns only its database and
# no other role may connect to it (CONNECT is revoked from PUBLIC).
#
# Run by the postgres image on a new volume (/docker-entrypoint-initdb.d), or by hand against an
# external server with a superuser: PGHOST=db.example PGUSER=postgres ./deploy/postgres/init.sh
# It is idempotent: an existing role gets its password reset, an existing database is kept.
#
# Passwords: <SVC>_DB_PASSWORD, or <SVC>_DB_PASSWORD_FILE naming a file (Docker/Kubernetes
# secrets). Nothing here has a default.
set -euo pipefail

SERVICES=(roster matching scoring secondment gateway)
ADMIN_USER="${POSTGRES_USER:-${PGUSER:-postgres}}"

password_of() {
  local svc="$1" var file
  var="$(echo "${svc}" | tr '[:lower:]' '[:upper:]')_DB_PASSWORD"
  file="${var}_FILE"
  if [[ -n "${!file:-}" ]]; then
    cat "${!file}"
  elif [[ -n "${!var:-}" ]]; then
    printf '%s' "${!var}"
  else
    echo "init.sh: set ${var} or ${file}" >&2
    return 1
  fi
}

psql_admin() {
  psql -v ON_ERROR_STOP=1 --no-psqlrc --username "${ADMIN_USER}" --dbname postgres "$@"
}

for svc in "${SERVICES[@]}"; do
  pw="$(password_of "${svc}")"
  # psql variables (:"svc" an identifier, :'pw' a literal) quote whatever the password holds.
  psql_admin -v svc="${svc}" -v pw="${pw}" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION', :'svc')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'svc') \gexec
ALTER ROLE :"svc" WITH LOGIN PASSWORD :'pw';
SELECT format('CREATE DATABASE %I OWNER %I ENCODING ''UTF8''', :'svc', :'svc')
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'svc') \gexec
ALTER DATABASE :"svc" OWNER TO :"svc";
-- No service can connect to another's database: only the owner (and superusers) may.
REVOKE CONNECT, TEMPORARY ON DATABASE :"svc" FROM PUBLIC;
REVOKE ALL ON DATABASE :"svc" FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE :"svc" TO :"svc";
SQL
  # Inside its own database: the public schema belongs to the service's role, nobody else's.
  psql -v ON_ERROR_STOP=1 --no-psqlrc --username "${ADMIN_USER}" --dbname "${svc}" -v svc="${svc}" <<'SQL'
ALTER SCHEMA public OWNER TO :"svc";
REVOKE ALL ON SCHEMA public FROM PUBLIC;
SQL
done

# The maintenance database is not for the services either.
psql_admin <<'SQL'
REVOKE CONNECT ON DATABASE postgres FROM PUBLIC;
SQL
echo "init.sh: databases and roles ready for ${SERVICES[*]}"
