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
SCRIPT_START=$(date +%s)

log() { printf '[test.sh %s +%ss] %s\n' "$(date +%H:%M:%S)" "$(($(date +%s) - SCRIPT_START))" "$*" >&2; }

# ---- servers (scripts/lib/servers.sh) ------------------------------------------
# shellcheck source=lib/servers.sh
source "$ROOT/scripts/lib/servers.sh"
cleanup() {
	local rc=$?
	stop_servers
	log "done (exit $rc)"
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

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
