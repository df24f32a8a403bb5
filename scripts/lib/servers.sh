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
# The tests need a Vault (or OpenBao) server binary that takes Vault's dev-mode
# and -config command lines (internal/testservers). In order:
#   1. $SIKKA_VAULT_BIN, when set (an error if it is not a usable server);
#   2. `vault`, then `bao`, on PATH;
#   3. the lean Vault built once from tools/vault (Vault's own core, HTTP API,
#      inmem/file storage, KV, token and AppRole auth; no other plugin) into
#      $CACHE_DIR/vault-$VAULT_VERSION-lean/, and reused.
# A binary found on PATH or named is accepted if `version` says Vault >= 1.12
# or OpenBao >= 2.0 (KV v2 check-and-set, AppRole and sys/health as the tests
# use them); an older or unknown one is refused (named) or skipped (PATH).
VAULT_MIN_MAJOR_MINOR=1.12
BAO_MIN_MAJOR_MINOR=2.0

# vault_version_ok BIN prints BIN's `version` line and succeeds if it is a
# Vault or OpenBao server recent enough.
vault_version_ok() {
	local bin=$1 out ver min
	out=$("$bin" version 2>/dev/null | head -n 1) || return 1
	case "$out" in
	"Vault v"*) min=$VAULT_MIN_MAJOR_MINOR ;;
	"OpenBao v"*) min=$BAO_MIN_MAJOR_MINOR ;;
	*) return 1 ;;
	esac
	ver=$(printf '%s\n' "$out" | sed -E 's/^[A-Za-z]+ v([0-9]+\.[0-9]+)(\.[0-9]+)?.*/\1/')
	[ "$(printf '%s\n%s\n' "$min" "$ver" | sort -V | head -n 1)" = "$min" ] || return 1
	printf '%s\n' "$out"
}

build_vault() {
	local cand line
	if [ -n "${SIKKA_VAULT_BIN:-}" ]; then
		if ! line=$(vault_version_ok "$SIKKA_VAULT_BIN"); then
			echo "SIKKA_VAULT_BIN=$SIKKA_VAULT_BIN is not a Vault >= $VAULT_MIN_MAJOR_MINOR or OpenBao >= $BAO_MIN_MAJOR_MINOR server (its \`version\` says: $("$SIKKA_VAULT_BIN" version 2>&1 | head -n 1)); unset it to build one" >&2
			return 1
		fi
		VAULT_BIN=$SIKKA_VAULT_BIN
		log "Vault: using SIKKA_VAULT_BIN=$VAULT_BIN ($line)"
		return 0
	fi
	for cand in vault bao; do
		VAULT_BIN=$(command -v "$cand" 2>/dev/null) || continue
		if line=$(vault_version_ok "$VAULT_BIN"); then
			log "Vault: using $VAULT_BIN from PATH ($line)"
			return 0
		fi
		log "Vault: skipping $VAULT_BIN from PATH: not Vault >= $VAULT_MIN_MAJOR_MINOR or OpenBao >= $BAO_MIN_MAJOR_MINOR"
	done
	VAULT_BIN="$CACHE_DIR/vault-$VAULT_VERSION-lean/vault"
	if [ -x "$VAULT_BIN" ]; then
		log "Vault $VAULT_VERSION (lean): reusing $VAULT_BIN"
		return 0
	fi
	log "Vault $VAULT_VERSION (lean): building from tools/vault (once: about 8 minutes on 2 idle cores, 38 s with a warm build cache)"
	mkdir -p "$(dirname "$VAULT_BIN")"
	(cd "$ROOT/tools/vault" && GOWORK=off go build -trimpath -ldflags="-s -w" -o "$VAULT_BIN.tmp.$$" .)
	mv "$VAULT_BIN.tmp.$$" "$VAULT_BIN"
	log "Vault $VAULT_VERSION (lean): built ($(vault_version_ok "$VAULT_BIN"))"
}

start_vault() {
	build_vault
	start_testservers -vault-bin "$VAULT_BIN" # exports SIKKA_TEST_VAULT_ADDR, _TOKEN, _BIN
	log "Vault dev server on $SIKKA_TEST_VAULT_ADDR"
}
