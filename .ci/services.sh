# Throwaway PostgreSQL and Redis servers on 127.0.0.1 for tests and benchmarks.
# Source this file, then call `start_services`; it exports DATABASE_URL, REDIS_URL and
# CELERY_BROKER_URL and registers a trap that stops both servers on exit.

install_services_if_missing() {
    local missing=()
    compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
    command -v redis-server >/dev/null || missing+=(redis-server)
    if [ ${#missing[@]} -gt 0 ]; then
        echo "== installing ${missing[*]} with apt"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# PostgreSQL refuses to run as root: run its binaries as the postgres user when we are root.
as_postgres() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start_postgres() {
    local bin
    bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
    PG_DATA=$(mktemp -d /tmp/csms-pg.XXXXXX)
    PG_PORT=$(free_port)
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$PG_DATA"
    as_postgres "$bin/initdb" -D "$PG_DATA" -U postgres -A trust -E UTF8 --no-sync >/dev/null
    # fsync off: the data is thrown away after the run.
    as_postgres "$bin/pg_ctl" -D "$PG_DATA" -l "$PG_DATA/server.log" -w \
        -o "-h 127.0.0.1 -p $PG_PORT -k $PG_DATA -c fsync=off -c max_connections=300" start >/dev/null
    as_postgres "$bin/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres csms
    PG_BIN=$bin
    export DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/csms"
    echo "== PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$PG_PORT"
}

start_redis() {
    REDIS_DIR=$(mktemp -d /tmp/csms-redis.XXXXXX)
    REDIS_PORT=$(free_port)
    redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no --daemonize yes \
        --dir "$REDIS_DIR" --pidfile "$REDIS_DIR/redis.pid" --logfile "$REDIS_DIR/redis.log"
    for _ in $(seq 50); do
        redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG && break
        sleep 0.1
    done
    export REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
    export CELERY_BROKER_URL="redis://127.0.0.1:$REDIS_PORT/1"
    echo "== Redis $(redis-server --version | awk '{print $3}') on 127.0.0.1:$REDIS_PORT"
}

stop_services() {
    if [ -n "${PG_DATA:-}" ]; then
        as_postgres "$PG_BIN/pg_ctl" -D "$PG_DATA" -m immediate stop >/dev/null 2>&1 || true
        rm -rf "$PG_DATA"
    fi
    if [ -n "${REDIS_DIR:-}" ]; then
        [ -f "$REDIS_DIR/redis.pid" ] && kill "$(cat "$REDIS_DIR/redis.pid")" 2>/dev/null || true
        rm -rf "$REDIS_DIR"
    fi
}

start_services() {
    install_services_if_missing
    trap stop_services EXIT
    start_postgres
    start_redis
}
