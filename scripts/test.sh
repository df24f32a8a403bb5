#!/usr/bin/env bash
# scripts/test.sh: the project's one test command (README, .ci/run).
#
# Installs what the tests need, starts each real server on a free loopback
# port, runs `go vet` and `go test -race` on every module of the repository
# (the library, e2e/ and benchmarks/, joined by go.work), then every fuzz
# target for a short bounded time, and stops everything it started on exit.
#
#   PostgreSQL  a throwaway cluster under /tmp (Debian's postgresql package;
#               installed with apt-get when initdb is missing)
#   Vault       the real server: $SIKKA_VAULT_BIN, vault/bao on PATH, or the lean
#               build of tools/vault, built once into $SIKKA_CACHE_DIR
#               (default ~/.cache/sikka-connect) and reused
#   Chromium    Debian's chromium, for the browser tests in e2e/
#   docker-compose  Debian's, only to validate docker-compose.yml (no engine here)
#   govulncheck a pinned version, installed once into $SIKKA_CACHE_DIR, run
#               only where its database answers (one line says when it does not)
#
# It also runs the README as written: scripts/walkthrough.sh (the mock walk)
# and the README's ServeMux program built as a module of its own.
#
# Environment knobs (all optional):
#   SIKKA_CACHE_DIR   where the Vault binary is kept between runs
#   SIKKA_VAULT_BIN   a Vault (>= 1.12) or OpenBao (>= 2.0) server to use instead of
#                     `vault`/`bao` on PATH or the lean build of tools/vault
#   SIKKA_FUZZTIME    time per fuzz target (default 5s; 0 skips fuzzing)
#   SIKKA_TEST_ARGS   extra arguments for `go test` (e.g. "-run TestX")
#   SIKKA_TEST_PKGS   packages to test (default: every module's, $ALL_PKGS below)
#   SIKKA_ARTIFACTS   where browser tests save screenshots (default artifacts/)
#   SIKKA_LOAD        1 (the default here) runs the full load test: 1,000 connect
#                     flows from 200 clients; 0 runs its small version
#   SIKKA_VULNDB      the vulnerability database govulncheck reads (default
#                     https://vuln.go.dev; a mirror, or file:///path to a copy)
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
# Every package of the three modules go.work joins: ./... alone stops at a
# nested module's go.mod. tools/vault (the test Vault) is built apart.
ALL_PKGS="./... ./e2e/... ./benchmarks/..."
TEST_PKGS=${SIKKA_TEST_PKGS:-$ALL_PKGS}
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
# run_fuzz runs every `func FuzzXxx(f *testing.F)` in the repository's modules
# for $FUZZTIME each (go.work resolves ./dir in any of them).
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

# ---- dependencies ----------------------------------------------------------------
# Lowest versions of dependencies with a known vulnerability below them: the
# build fails if `go get`/`go mod tidy` ever brings an older one back. A cheap,
# offline guard beside govulncheck (which needs its database).
MIN_VERSIONS=(
	"github.com/go-jose/go-jose/v4 v4.1.4" # GO-2026-4945, pulled by the Vault client
)
check_min_versions() {
	local entry mod want have
	for entry in "${MIN_VERSIONS[@]}"; do
		read -r mod want <<<"$entry"
		have=$(go list -m -f '{{.Version}}' "$mod" 2>/dev/null || true)
		if [ -z "$have" ]; then
			log "dependency check: $mod is no longer required (fine)"
			continue
		fi
		if [ "$(printf '%s\n%s\n' "${want#v}" "${have#v}" | sort -V | head -n 1)" != "${want#v}" ]; then
			echo "dependency check: $mod is $have; it must be $want or newer (go get $mod@$want; go mod tidy)" >&2
			return 1
		fi
		log "dependency check: $mod $have (>= $want)"
	done
}

# run_govulncheck runs govulncheck (installed once into $CACHE_DIR) on the
# module when its vulnerability database answers; when it does not (machines
# that reach only the Go module proxy), it says so in one line and goes on.
GOVULNCHECK_VERSION=v1.9.0
run_govulncheck() {
	local db=${SIKKA_VULNDB:-https://vuln.go.dev} index
	case "$db" in
	file://*) index="$db/index/db.json" ;; # a local copy holds plain JSON
	*) index="$db/index/db.json.gz" ;;
	esac
	if ! curl -fsS -m 10 -o /dev/null "$index" 2>/dev/null; then
		log "govulncheck skipped: its database $db is unreachable from here (the go-jose version check above still runs)"
		return 0
	fi
	local bin="$CACHE_DIR/govulncheck-$GOVULNCHECK_VERSION/govulncheck"
	if [ ! -x "$bin" ]; then
		log "govulncheck $GOVULNCHECK_VERSION: installing into $(dirname "$bin")"
		GOBIN=$(dirname "$bin") GOFLAGS=-mod=mod go install "golang.org/x/vuln/cmd/govulncheck@$GOVULNCHECK_VERSION"
	fi
	log "govulncheck ./... (database $db)"
	"$bin" -db "$db" ./...
}

# ---- the README, run as written ------------------------------------------------------
# check_walkthrough runs scripts/walkthrough.sh (the mock walk of the README),
# after checking that the README shows the very lines the script runs.
check_walkthrough() {
	local marks='/^# ---- walkthrough:/,/^# ---- end of walkthrough ----$/p'
	if ! diff <(sed -n "$marks" README.md) <(sed -n "$marks" scripts/walkthrough.sh) >&2; then
		echo "README.md's mock walkthrough differs from scripts/walkthrough.sh (above): make them the same" >&2
		return 1
	fi
	if [ -z "$(sed -n "$marks" README.md)" ]; then
		echo "README.md has no mock walkthrough between the markers of scripts/walkthrough.sh" >&2
		return 1
	fi
	log "scripts/walkthrough.sh"
	./scripts/walkthrough.sh
}

# Modules only the e2e tests and the benchmarks need: they live in e2e/go.mod
# and benchmarks/go.mod, and must never reach a host's module graph through
# the library's go.mod (docs/TESTING.md, "The module graph users inherit").
TEST_ONLY_MODULES=(
	github.com/chromedp/chromedp
	github.com/chromedp/cdproto
	github.com/sivchari/kumo
	github.com/gorilla/csrf
	github.com/gorilla/securecookie
)

# check_host_graph, run inside a host module, fails when `go list -m all`
# holds any of TEST_ONLY_MODULES.
check_host_graph() {
	local all found=() mod
	all=$(go list -m all) || return 1
	for mod in "${TEST_ONLY_MODULES[@]}"; do
		if grep -q "^$mod " <<<"$all"; then
			found+=("$mod")
		fi
	done
	if [ "${#found[@]}" != 0 ]; then
		echo "a host module's graph holds test-only modules: ${found[*]}; require them in e2e/go.mod or benchmarks/go.mod, not the root go.mod (go mod tidy in each)" >&2
		return 1
	fi
	log "host module graph: $(wc -l <<<"$all") modules, none test-only"
}

# check_host_module builds the README's ServeMux program (between the
# host-module markers) as a module of its own that requires this one, the
# way a user's module does after the README's `go get`, and checks that its
# module graph holds no test-only module (check_host_graph). Offline: the
# module proxy is off and the sums come from this module's go.sum, so
# everything comes from the module cache that go vet and `go list -m all`
# have just filled.
check_host_module() {
	local dir get rc=0
	dir=$(mktemp -d /tmp/sikka-host.XXXXXX)
	sed -n '/^<!-- host-module: begin/,/^<!-- host-module: end/p' README.md | sed '/^<!--/d; /^```/d' >"$dir/main.go"
	get=$(grep -o -m 1 'go get github.com/parlae/sikka-connect[^ `]*' README.md || true)
	if ! grep -q '^package main' "$dir/main.go" || ! grep -q 'sikka.WithBaseURL(env.APIURL)' "$dir/main.go" || [ -z "$get" ]; then
		echo "README.md: no ServeMux program between the host-module markers, one that ignores SIKKA_API_URL (env.APIURL), or no go get line" >&2
		rm -rf "$dir"
		return 1
	fi
	# The README's sikka client block, inside a function that declares what it uses.
	{
		printf '%s\n' 'package main' '' 'import (' '	"context"' '	"errors"' '	"fmt"' '	"log/slog"' \
			'	"net/http"' '	"time"' '' '	"github.com/parlae/sikka-connect/sikka"' ')' '' \
			'func sikkaSnippet(ctx context.Context, w http.ResponseWriter, r *http.Request, logger *slog.Logger, appID, appKey, redirectURI, state, code string) error {'
		sed -n '/^<!-- sikka-snippet: begin/,/^<!-- sikka-snippet: end/p' README.md | sed '/^<!--/d; /^```/d'
		printf '%s\n' '	return nil' '}' '' 'var _ = sikkaSnippet'
	} >"$dir/sikka_snippet.go"
	log "README's ServeMux program and sikka block as a module of its own ($get)"
	# The host's whole graph (check_host_graph's `go list -m all`) is part of
	# this module's: fetch its go.mod files while the proxy is still on.
	GOWORK=off go list -m all >/dev/null
	# One && chain: set -e does not apply inside a subshell whose status is tested.
	(
		cd "$dir" &&
			export GOWORK=off GOPROXY=off GOFLAGS="${GOFLAGS:-} -mod=mod" &&
			go mod init host >/dev/null 2>&1 &&
			go mod edit -replace "github.com/parlae/sikka-connect=$ROOT" &&
			cp "$ROOT/go.sum" go.sum &&
			$get &&
			go mod tidy &&
			go build -o /dev/null . &&
			go vet . &&
			check_host_graph &&
			{
				[ -z "$(gofmt -l main.go)" ] || {
					echo "README.md's ServeMux program is not gofmt-formatted:" >&2
					gofmt -d main.go >&2
					false
				}
			}
	) || rc=$?
	rm -rf "$dir"
	if [ "$rc" != 0 ]; then
		echo "README.md's ServeMux program does not build as a host module (above)" >&2
	fi
	return "$rc"
}

# ---- main ----------------------------------------------------------------------
log "go: $(go version)"
install_missing
start_postgres
start_vault

log "go vet $ALL_PKGS"
# shellcheck disable=SC2086
go vet $ALL_PKGS

# A merge's leftover conflict markers in any tracked file fail the run.
if git grep -nE '^(<<<<<<<|>>>>>>>)( |$)' -- . ':!*.txt' 2>/dev/null; then
	echo "conflict markers left in the files above" >&2
	exit 1
fi

check_min_versions
run_govulncheck

log "docker-compose config -q (validates docker-compose.yml; no engine runs here)"
docker-compose -f docker-compose.yml config -q

check_host_module
check_walkthrough

log "go test -race ${SIKKA_TEST_ARGS:-} $TEST_PKGS"
# shellcheck disable=SC2086
go test -race -count=1 ${SIKKA_TEST_ARGS:-} $TEST_PKGS

run_fuzz
log "all tests passed"
