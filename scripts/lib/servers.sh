# scripts/lib/servers.sh: the real servers the test and benchmark scripts
# start, each on a free loopback port, and stop again (stop_servers). Sourced;
# the caller defines log(), ROOT and CACHE_DIR, and calls stop_servers from its
# exit trap. Only ever stops what it started.

VAULT_VERSION=1.21.1 # keep in step with tools/vault/go.mod

# ---- state: what this run started ----------------------------------------------
# The servers themselves are started by internal/testservers, the one place
# that knows how (the e2e tests start their own through it), via its command:
# it prints NAME=value lines and "ready", and stops them on SIGTERM.
TESTSERVERS_DIR=""
TESTSERVERS_PIDS=()
PGBIN=""
# stop_servers stops the servers this run started, and only those.
stop_servers() {
	local pid
	for pid in "${TESTSERVERS_PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	if [ -n "$TESTSERVERS_DIR" ]; then rm -rf "$TESTSERVERS_DIR"; fi
}

# start_testservers runs internal/testservers/cmd/testservers with the flags
# given, waits for its "ready" and exports the variables it printed.
start_testservers() {
	local pid k v env
	if [ -z "$TESTSERVERS_DIR" ]; then
		TESTSERVERS_DIR=$(mktemp -d /tmp/sikka-testservers.XXXXXX)
		(cd "$ROOT" && go build -o "$TESTSERVERS_DIR/testservers" ./internal/testservers/cmd/testservers)
	fi
	env="$TESTSERVERS_DIR/env.${#TESTSERVERS_PIDS[@]}"
	"$TESTSERVERS_DIR/testservers" "$@" >"$env" &
	pid=$!
	TESTSERVERS_PIDS+=("$pid")
	until grep -qsx ready "$env"; do
		kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 1; }
		sleep 0.1
	done
	while IFS='=' read -r k v; do
		[ "$k" = ready ] || export "$k=$v"
	done <"$env"
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
	start_testservers -pgbin "$PGBIN" # exports SIKKA_TEST_DATABASE_URL, SIKKA_TEST_PGBIN
	log "PostgreSQL ($("$PGBIN/postgres" --version | awk '{print $3}')) at ${SIKKA_TEST_DATABASE_URL%%/sikka_test*}"
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
	(cd "$ROOT/tools/vault" && GOWORK=off go build -trimpath -ldflags="-s -w" -o "$VAULT_BIN.tmp.$$" .)
	mv "$VAULT_BIN.tmp.$$" "$VAULT_BIN"
	log "Vault $VAULT_VERSION: built"
}

start_vault() {
	build_vault
	start_testservers -vault-bin "$VAULT_BIN" # exports SIKKA_TEST_VAULT_ADDR, _TOKEN, _BIN
	log "Vault dev server on $SIKKA_TEST_VAULT_ADDR"
}
