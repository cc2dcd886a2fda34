#!/bin/sh
# The official postgres image's start-up contract, for the Debian-built image:
#   POSTGRES_PASSWORD or POSTGRES_PASSWORD_FILE (required unless
#   POSTGRES_HOST_AUTH_METHOD=trust), POSTGRES_USER (default postgres), POSTGRES_DB
#   (default: the user's name), PGDATA, and *.sql / *.sh in /docker-entrypoint-initdb.d.
# The cluster is made on the first start only; then postgres is exec'd as PID 1 so it
# gets the container's signals.
set -eu

: "${PGDATA:=/var/lib/postgresql/data}"
export PGDATA

fail() {
    echo "docker-entrypoint.sh: $*" >&2
    exit 1
}

# Started as root (`--user 0`, or a bind mount that needs its owner fixed): hand the
# data directory to postgres, then run this script again as postgres.
if [ "$(id -u)" = 0 ]; then
    mkdir -p "$PGDATA"
    chown -R postgres:postgres "$PGDATA"
    chmod 0700 "$PGDATA"
    exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi

# Options first (`docker run IMAGE -c key=value`) still mean the server.
case "${1:-}" in -*) set -- postgres "$@" ;; esac

password() {
    if [ -n "${POSTGRES_PASSWORD_FILE:-}" ]; then
        [ -r "$POSTGRES_PASSWORD_FILE" ] || fail "cannot read POSTGRES_PASSWORD_FILE ($POSTGRES_PASSWORD_FILE)"
        cat "$POSTGRES_PASSWORD_FILE"
    else
        printf '%s' "${POSTGRES_PASSWORD:-}"
    fi
}

run_init_scripts() {
    for script in /docker-entrypoint-initdb.d/*; do
        case "$script" in
            *.sh) echo "running $script" && . "$script" ;;
            *.sql) echo "running $script" && psql -v ON_ERROR_STOP=1 -d "$POSTGRES_DB" -f "$script" ;;
        esac
    done
}

initialise() {
    user=${POSTGRES_USER:-postgres}
    auth=${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}
    pass=$(password)
    if [ -z "$pass" ] && [ "$auth" != trust ]; then
        fail "the database is not initialised and no superuser password is set: set POSTGRES_PASSWORD or POSTGRES_PASSWORD_FILE"
    fi

    pwfile=$(mktemp)
    printf '%s\n' "$pass" >"$pwfile"
    # Local socket: trust (as the official image); over TCP: a password.
    initdb --username="$user" --pwfile="$pwfile" --encoding=UTF8 --locale=C.UTF-8 \
        --auth-local=trust --auth-host="$auth" ${POSTGRES_INITDB_ARGS:-}
    rm -f "$pwfile"
    printf 'host all all all %s\n' "$auth" >>"$PGDATA/pg_hba.conf"
    # All addresses (the container's network is the boundary); no JIT, as the image
    # leaves LLVM out.
    printf "listen_addresses = '*'\njit = off\n" >>"$PGDATA/postgresql.conf"

    # A server on the socket only while the database and init scripts are made.
    pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start
    export PGUSER="$user"
    POSTGRES_DB=${POSTGRES_DB:-$user}
    if [ "$POSTGRES_DB" != postgres ]; then
        psql -v ON_ERROR_STOP=1 -d postgres -v db="$POSTGRES_DB" <<'SQL'
CREATE DATABASE :"db";
SQL
    fi
    run_init_scripts
    pg_ctl -D "$PGDATA" -m fast -w stop
    unset PGUSER
    echo "PostgreSQL initialised: user $user, database $POSTGRES_DB"
}

if [ "${1:-}" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
    initialise
fi

exec "$@"
