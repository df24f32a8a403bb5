# scripts/lib/servers.sh: the real servers the test and benchmark scripts
# start, each on a free loopback port, and stop again (stop_servers). Sourced;
# the caller defines log(), ROOT and CACHE_DIR, and calls stop_servers from its
# exit trap. Only ever stops what it started.

VAULT_VERSION=1.21.1 # keep in step with tools/vault/go.mod

# ---- state: what this run started ----------------------------------------------
PGTMP=""
PGBIN=""
VAULT_PID=""
VAULT_LOG=""
# stop_servers stops the servers this run started, and only those.
stop_servers() {
	if [ -n "$VAULT_PID" ] && kill -0 "$VAULT_PID" 2>/dev/null; then
		kill "$VAULT_PID" 2>/dev/null || true
		wait "$VAULT_PID" 2>/dev/null || true
	fi
	if [ -n "$PGTMP" ] && [ -d "$PGTMP" ]; then
		as_postgres "$PGBIN/pg_ctl" -D "$PGTMP/data" -m immediate -w stop >/dev/null 2>&1 || true
		rm -rf "$PGTMP"
	fi
	if [ -n "$VAULT_LOG" ]; then rm -f "$VAULT_LOG"; fi
}


# free_port prints a loopback TCP port that nothing listens on right now.
free_port() {
	local p
	for _ in $(seq 1 100); do
		p=$((20000 + RANDOM % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	echo "no free port found" >&2
	return 1
}

# as_postgres runs a command as the postgres user when we are root (initdb
# refuses to run as root), and as ourselves otherwise.
as_postgres() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

apt_install() {
	log "installing Debian packages: $*"
	if [ "$(id -u)" != 0 ]; then
		echo "need root to apt-get install $*; install them and run again" >&2
		return 1
	fi
	DEBIAN_FRONTEND=noninteractive apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# install_missing installs, in one apt-get run, the Debian packages whose
# commands are not there yet.
install_missing() {
	local missing=()
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
	[ -x /usr/bin/chromium ] || missing+=(chromium)
	command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
	command -v curl >/dev/null 2>&1 || missing+=(curl)
	if [ ${#missing[@]} -gt 0 ]; then
		apt_install "${missing[@]}"
	fi
}

# ---- PostgreSQL ----------------------------------------------------------------
start_postgres() {
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || apt_install postgresql
	PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
	PGTMP=$(mktemp -d /tmp/sikka-pgtest.XXXXXX)
	[ "$(id -u)" = 0 ] && chown postgres:postgres "$PGTMP"
	local port attempt
	as_postgres "$PGBIN/initdb" -D "$PGTMP/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync >/dev/null
	# A free port can be taken between the check and the start (other test
	# clusters start at the same time): try a few.
	for attempt in 1 2 3 4 5; do
		port=$(free_port)
		if as_postgres "$PGBIN/pg_ctl" -D "$PGTMP/data" -l "$PGTMP/server.log" -w -t 30 \
			-o "-c listen_addresses=127.0.0.1 -p $port -k $PGTMP -c fsync=off -c max_connections=300" start >/dev/null; then
			break
		fi
		if [ "$attempt" = 5 ]; then
			echo "PostgreSQL did not start; its log:" >&2
			cat "$PGTMP/server.log" >&2
			return 1
		fi
		log "PostgreSQL did not start on port $port; trying another"
	done
	as_postgres "$PGBIN/createdb" -h 127.0.0.1 -p "$port" -U postgres sikka_test
	export SIKKA_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$port/sikka_test?sslmode=disable"
	export SIKKA_TEST_PGBIN="$PGBIN" # for tests that start (and stop) a cluster of their own
	log "PostgreSQL ($("$PGBIN/postgres" --version | awk '{print $3}')) on 127.0.0.1:$port"
}

# ---- Vault ---------------------------------------------------------------------
build_vault() {
	VAULT_BIN="$CACHE_DIR/vault-$VAULT_VERSION/vault"
	if [ -x "$VAULT_BIN" ]; then
		log "Vault $VAULT_VERSION: reusing $VAULT_BIN"
		return 0
	fi
	log "Vault $VAULT_VERSION: building from tools/vault (once: 7-14 minutes on 2 cores)"
	mkdir -p "$(dirname "$VAULT_BIN")"
	(cd "$ROOT/tools/vault" && go build -trimpath -ldflags="-s -w" -o "$VAULT_BIN.tmp.$$" .)
	mv "$VAULT_BIN.tmp.$$" "$VAULT_BIN"
	log "Vault $VAULT_VERSION: built"
}

start_vault() {
	build_vault
	local attempt
	for attempt in 1 2 3; do
		try_start_vault && return 0
		log "Vault did not start (attempt $attempt); its log:"
		cat "$VAULT_LOG" >&2
	done
	return 1
}

# try_start_vault starts a dev server on a free port and waits until it is
# healthy; it fails (after stopping it) if the server exits or never answers.
try_start_vault() {
	local port token i
	port=$(free_port)
	token="test-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
	[ -n "$VAULT_LOG" ] && rm -f "$VAULT_LOG"
	VAULT_LOG=$(mktemp /tmp/sikka-vault.XXXXXX.log)
	# -dev keeps everything in memory; the dev listener has no TLS.
	"$VAULT_BIN" server -dev -dev-root-token-id="$token" \
		-dev-listen-address="127.0.0.1:$port" -dev-no-store-token >"$VAULT_LOG" 2>&1 &
	VAULT_PID=$!
	for i in $(seq 1 100); do
		if curl -fsS "http://127.0.0.1:$port/v1/sys/health" >/dev/null 2>&1; then
			export SIKKA_TEST_VAULT_ADDR="http://127.0.0.1:$port"
			export SIKKA_TEST_VAULT_TOKEN="$token"
			export SIKKA_TEST_VAULT_BIN="$VAULT_BIN" # for tests that start (and stop) a server of their own
			log "Vault dev server on 127.0.0.1:$port"
			return 0
		fi
		if ! kill -0 "$VAULT_PID" 2>/dev/null; then break; fi
		sleep 0.1
	done
	kill "$VAULT_PID" 2>/dev/null || true
	wait "$VAULT_PID" 2>/dev/null || true
	return 1
}

