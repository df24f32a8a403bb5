#!/usr/bin/env bash
# scripts/test.sh: the project's one test command (README, .ci/run).
#
# Installs what the tests need, starts each real server on a free loopback
# port, runs `go vet` and `go test -race ./...`, then every fuzz target for a
# short bounded time, and stops everything it started on exit.
#
#   PostgreSQL  a throwaway cluster under /tmp (Debian's postgresql package;
#               installed with apt-get when initdb is missing)
#   Vault       the real server, built once from tools/vault into
#               $SIKKA_CACHE_DIR (default ~/.cache/sikka-connect) and reused
#   Chromium    Debian's chromium, for the browser tests in e2e/
#   docker-compose  Debian's, only to validate docker-compose.yml (no engine here)
#
# Environment knobs (all optional):
#   SIKKA_CACHE_DIR   where the Vault binary is kept between runs
#   SIKKA_FUZZTIME    time per fuzz target (default 5s; 0 skips fuzzing)
#   SIKKA_TEST_ARGS   extra arguments for `go test` (e.g. "-run TestX")
#   SIKKA_TEST_PKGS   packages to test (default ./...)
#   SIKKA_ARTIFACTS   where browser tests save screenshots (default artifacts/)
#   SIKKA_LOAD        1 (the default here) runs the full load test: 1,000 connect
#                     flows from 200 clients; 0 runs its small version
#
# Exported to the tests:
#   SIKKA_TEST_DATABASE_URL                  PostgreSQL (database sikka_test)
#   SIKKA_TEST_VAULT_ADDR, SIKKA_TEST_VAULT_TOKEN   Vault dev server (KV v2 at secret/)
#   SIKKA_TEST_PGBIN, SIKKA_TEST_VAULT_BIN   the server binaries, for tests that
#                                            start and stop servers of their own
#
# It leaves the machine's own services alone: it only ever stops what it started.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)
CACHE_DIR=${SIKKA_CACHE_DIR:-${HOME:-/root}/.cache/sikka-connect}
FUZZTIME=${SIKKA_FUZZTIME:-5s}
TEST_PKGS=${SIKKA_TEST_PKGS:-./...}
export SIKKA_LOAD=${SIKKA_LOAD:-1}
VAULT_VERSION=1.21.1 # keep in step with tools/vault/go.mod
SCRIPT_START=$(date +%s)

log() { printf '[test.sh %s +%ss] %s\n' "$(date +%H:%M:%S)" "$(($(date +%s) - SCRIPT_START))" "$*" >&2; }

# ---- cleanup: stop only what this run started ---------------------------------
PGTMP=""
PGBIN=""
VAULT_PID=""
VAULT_LOG=""
cleanup() {
	local rc=$?
	if [ -n "$VAULT_PID" ] && kill -0 "$VAULT_PID" 2>/dev/null; then
		kill "$VAULT_PID" 2>/dev/null || true
		wait "$VAULT_PID" 2>/dev/null || true
	fi
	if [ -n "$PGTMP" ] && [ -d "$PGTMP" ]; then
		as_postgres "$PGBIN/pg_ctl" -D "$PGTMP/data" -m immediate -w stop >/dev/null 2>&1 || true
		rm -rf "$PGTMP"
	fi
	[ -n "$VAULT_LOG" ] && rm -f "$VAULT_LOG"
	log "done (exit $rc)"
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

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
	log "Vault $VAULT_VERSION: building from tools/vault (cold: about 7-10 minutes, once)"
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

# ---- fuzzing -------------------------------------------------------------------
# run_fuzz runs every `func FuzzXxx(f *testing.F)` in the module for $FUZZTIME each.
run_fuzz() {
	if [ "$FUZZTIME" = 0 ] || [ "$FUZZTIME" = 0s ]; then
		log "fuzzing skipped (SIKKA_FUZZTIME=$FUZZTIME)"
		return 0
	fi
	local file pkg name
	while IFS= read -r file; do
		pkg="./$(dirname "$file")"
		for name in $(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*\*testing\.F).*/\1/p' "$file"); do
			log "fuzz $pkg $name for $FUZZTIME"
			go test -run='^$' -fuzz="^${name}\$" -fuzztime="$FUZZTIME" "$pkg"
		done
	done < <(git ls-files '*_test.go' 2>/dev/null || find . -name '*_test.go' -not -path './tools/*')
}

# ---- main ----------------------------------------------------------------------
log "go: $(go version)"
install_missing
start_postgres
start_vault

log "go vet ./..."
go vet ./...

log "docker-compose config -q (validates docker-compose.yml; no engine runs here)"
docker-compose -f docker-compose.yml config -q

log "go test -race ${SIKKA_TEST_ARGS:-} $TEST_PKGS"
# shellcheck disable=SC2086
go test -race -count=1 ${SIKKA_TEST_ARGS:-} $TEST_PKGS

run_fuzz
log "all tests passed"
