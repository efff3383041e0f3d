# Shared shell functions for the cluster/ scripts. Source it; do not run it.
# Everything here is idempotent and stops only what it started, by pid.

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
# Per-checkout state, so a CI clone and a developer checkout never share a data directory.
SERVICES_DIR=${SYNC_SERVICES_DIR:-/tmp/syncengine-services-$(printf '%s' "$REPO_ROOT" | cksum | cut -d' ' -f1)}
PG_PORT=${SYNC_PG_PORT:-55432}
REDIS_PORT=${SYNC_REDIS_PORT:-56379}
PGDATA_DIR="$SERVICES_DIR/pgdata"
REDIS_DIR="$SERVICES_DIR/redis"

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else die "need root for: $*"; fi
}

# Installs the Debian packages that are missing (apt-get update only when something is).
ensure_packages() {
    local missing=()
    local pkg
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    log "installing: ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

ensure_service_packages() {
    ensure_packages postgresql-15 redis-server libhiredis-dev pkg-config
    [ -x "$PG_BIN/initdb" ] || die "PostgreSQL 15 binaries not found in $PG_BIN"
    command -v redis-server >/dev/null || die "redis-server not on PATH after install"
}

pid_alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }

postgres_pid() { [ -f "$PGDATA_DIR/postmaster.pid" ] && head -1 "$PGDATA_DIR/postmaster.pid"; }
redis_pid() { [ -f "$REDIS_DIR/redis.pid" ] && cat "$REDIS_DIR/redis.pid"; }

# Postgres refuses to run as root, so it runs as the 'postgres' user when we are root.
run_as_postgres() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start_postgres() {
    if pid_alive "$(postgres_pid)"; then log "postgres already running on 127.0.0.1:$PG_PORT"; return 0; fi
    mkdir -p "$SERVICES_DIR"
    chmod 755 "$SERVICES_DIR"
    if [ ! -f "$PGDATA_DIR/PG_VERSION" ]; then
        mkdir -p "$PGDATA_DIR"
        [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$PGDATA_DIR"
        chmod 700 "$PGDATA_DIR"
        run_as_postgres "$PG_BIN/initdb" -D "$PGDATA_DIR" -U postgres --auth=trust --encoding=UTF8 --no-locale >/dev/null \
            || die "initdb failed in $PGDATA_DIR"
    fi
    rm -f "$PGDATA_DIR/postmaster.pid"
    run_as_postgres "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -l "$PGDATA_DIR/server.log" -w -t 60 \
        -o "-p $PG_PORT -k $PGDATA_DIR -c listen_addresses=127.0.0.1 -c max_connections=300 -c shared_buffers=256MB" start >/dev/null \
        || { tail -20 "$PGDATA_DIR/server.log" >&2; die "postgres did not start (log: $PGDATA_DIR/server.log)"; }
    log "postgres started on 127.0.0.1:$PG_PORT (pid $(postgres_pid), data $PGDATA_DIR)"
}

stop_postgres() {
    local pid
    pid=$(postgres_pid) || true
    if pid_alive "$pid"; then
        kill -INT "$pid"
        for _ in $(seq 1 100); do pid_alive "$pid" || break; sleep 0.1; done
        log "postgres stopped (pid $pid)"
    fi
}

start_redis() {
    if pid_alive "$(redis_pid)"; then log "redis already running on 127.0.0.1:$REDIS_PORT"; return 0; fi
    mkdir -p "$REDIS_DIR"
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
        --pidfile "$REDIS_DIR/redis.pid" --logfile "$REDIS_DIR/redis.log" --dir "$REDIS_DIR" \
        || die "redis-server failed to start (log: $REDIS_DIR/redis.log)"
    for _ in $(seq 1 50); do [ -s "$REDIS_DIR/redis.pid" ] && break; sleep 0.1; done
    log "redis started on 127.0.0.1:$REDIS_PORT (pid $(redis_pid))"
}

stop_redis() {
    local pid
    pid=$(redis_pid) || true
    if pid_alive "$pid"; then
        kill -TERM "$pid"
        for _ in $(seq 1 50); do pid_alive "$pid" || break; sleep 0.1; done
        log "redis stopped (pid $pid)"
    fi
}

postgres_url() { echo "postgres://postgres@127.0.0.1:$PG_PORT/${1:-postgres}"; }
redis_url() { echo "redis://127.0.0.1:$REDIS_PORT"; }

# psql against the throwaway server.
pg() { psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres "$@"; }

ensure_database() {
    local name=$1
    pg -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$name'" | grep -q 1 \
        || pg -d postgres -c "CREATE DATABASE \"$name\""
}

# Release builds for jobs that measure or run for long; debug for tests.
# Release builds get their own scratch path (.build-release), so they do not throw away the debug
# build the tests use, and every script shares one release build.
build_engine() {
    local config=${1:-debug}
    local scratch=.build
    [ "$config" = release ] && scratch=.build-release
    ensure_packages libhiredis-dev pkg-config
    log "building syncengine ($config, scratch path $scratch)"
    (cd "$REPO_ROOT" && swift build -c "$config" --product syncengine --scratch-path "$scratch") >&2 || die "swift build failed"
    SYNCENGINE="$REPO_ROOT/$scratch/$config/syncengine"
}

# ---- the local cluster (cluster/up and friends) ----
# Everything about one local cluster lives under .cluster/ in the checkout (git-ignored): the env
# file scripts source, pids, logs. Node N listens on fixed loopback ports so a restart keeps them.
CLUSTER_DIR=${SYNC_CLUSTER_DIR:-$REPO_ROOT/.cluster}
NODE_PORT_BASE=${SYNC_NODE_PORT_BASE:-18100}

node_index() { local name=$1; echo "${name##*-}"; }
node_admin_port() { echo $((NODE_PORT_BASE + 10 * $(node_index "$1"))); }
node_cluster_port() { echo $((NODE_PORT_BASE + 10 * $(node_index "$1") + 1)); }
node_pid() { [ -f "$CLUSTER_DIR/$1.pid" ] && cat "$CLUSTER_DIR/$1.pid"; }

load_cluster_env() {
    [ -f "$CLUSTER_DIR/env" ] || die "no cluster is up here (no $CLUSTER_DIR/env): run cluster/up"
    # shellcheck disable=SC1091
    source "$CLUSTER_DIR/env"
}

# Starts (or, if running, leaves alone) one node of the cluster described by the env file.
start_cluster_node() {
    local name=$1
    [[ "$name" =~ ^node-[0-9]+$ ]] || die "node names are node-N, got '$name'"
    if pid_alive "$(node_pid "$name")"; then log "$name already running (pid $(node_pid "$name"))"; return 0; fi
    local admin_port cluster_port
    admin_port=$(node_admin_port "$name")
    cluster_port=$(node_cluster_port "$name")
    : > "$CLUSTER_DIR/$name.out"
    "$SYNC_ENGINE_BINARY" node --node-id "$name" --admin-listen "127.0.0.1:$admin_port" \
        --cluster-listen "127.0.0.1:$cluster_port" --redis-url "$SYNC_REDIS_URL" \
        --migrations "$REPO_ROOT/Migrations" >> "$CLUSTER_DIR/$name.out" 2>> "$CLUSTER_DIR/$name.log" &
    local pid=$!
    echo "$pid" > "$CLUSTER_DIR/$name.pid"
    for _ in $(seq 1 300); do
        grep -q "admin http" "$CLUSTER_DIR/$name.out" 2>/dev/null && break
        pid_alive "$pid" || { tail -20 "$CLUSTER_DIR/$name.log" >&2; die "$name exited at start (log: $CLUSTER_DIR/$name.log)"; }
        sleep 0.1
    done
    log "$name started (pid $pid, admin http://127.0.0.1:$admin_port, cluster 127.0.0.1:$cluster_port)"
    # Newly added nodes join the lists scripts read.
    case " $SYNC_NODES " in
        *" $name "*) ;;
        *) SYNC_NODES="$SYNC_NODES $name"
           SYNC_ADMIN_URLS="$SYNC_ADMIN_URLS,http://127.0.0.1:$admin_port"
           write_cluster_env ;;
    esac
}

stop_cluster_node() {
    local name=$1 signal=${2:-TERM} pid
    pid=$(node_pid "$name") || true
    if pid_alive "$pid"; then
        kill -CONT "$pid" 2>/dev/null || true
        kill "-$signal" "$pid"
        # A node drains in two bounded steps (hand shards off, finish pages in flight: 15 s each).
        for _ in $(seq 1 400); do pid_alive "$pid" || break; sleep 0.1; done
        pid_alive "$pid" && { log "$name did not stop within 40 s; kill -9"; kill -KILL "$pid"; }
        log "$name stopped (pid $pid, SIG$signal)"
    fi
    rm -f "$CLUSTER_DIR/$name.pid"
}

write_cluster_env() {
    cat > "$CLUSTER_DIR/env" <<ENV
export SYNC_POSTGRES_URL=$SYNC_POSTGRES_URL
export SYNC_REDIS_URL=$SYNC_REDIS_URL
export SYNC_PCO_SIM_URL=$SYNC_PCO_SIM_URL
export SYNC_ADMIN_URLS=$SYNC_ADMIN_URLS
export SYNC_NODES="$SYNC_NODES"
export SYNC_CLUSTER_DIR=$CLUSTER_DIR
export SYNC_TOKEN_KEY=$SYNC_TOKEN_KEY
export SYNC_CLUSTER_SECRET=$SYNC_CLUSTER_SECRET
export SYNC_ENGINE_BINARY=$SYNC_ENGINE_BINARY
export SYNC_DATABASE=$SYNC_DATABASE
ENV
}
