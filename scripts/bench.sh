#!/usr/bin/env bash
# scripts/bench.sh: the project's benchmarks, each beside its peer or floor
# in the same run, compared with benchstat (docs/BENCHMARKS.md).
#
#   state        BenchmarkState           ours vs gorilla/csrf (mint + verify)
#   flow         BenchmarkFlow, BenchmarkFlowPaired
#                                         whole connect flow vs bare HTTP round trips, and vs a
#                                         replay of its own bytes (+ CPU and allocation profiles)
#   mock         BenchmarkMockThroughput, BenchmarkMockThroughputPaired
#                                         mock Sikka vs a minimal handler, same JSON
#   breakdown    BenchmarkCallbackBreakdown  a callback on PostgreSQL + Vault, split by part
#   sweep        BenchmarkRefreshSweep    RefreshDue over 10k/50k due records (100k: SIKKA_BENCH_SWEEP_100K=1)
#
# It starts a throwaway PostgreSQL and a Vault dev server on free loopback
# ports exactly as scripts/test.sh does (reusing its cached Vault binary, or
# building it once), installs benchstat if missing, and writes everything to
# $SIKKA_BENCH_OUT (default artifacts/bench/): raw go test output per
# benchmark, benchstat tables, the flow's pprof profile, machine notes.
#
# Knobs:
#   SIKKA_BENCH_COUNT     -count of the short benchmarks (default 6)
#   SIKKA_BENCH_ONLY      a subset, e.g. "state flow" (default: all five)
#   SIKKA_BENCH_SWEEP_100K=1  adds the 100k-record sweep (about 2-4 minutes more)
#   SIKKA_CACHE_DIR       where the Vault binary is kept (as scripts/test.sh)
#
# The benchmarks only run with -bench: `go test ./...` and .ci/run never run them.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)
COUNT=${SIKKA_BENCH_COUNT:-6}
ONLY=${SIKKA_BENCH_ONLY:-state flow mock breakdown sweep}
OUT=${SIKKA_BENCH_OUT:-$ROOT/artifacts/bench}
CACHE_DIR=${SIKKA_CACHE_DIR:-${HOME:-/root}/.cache/sikka-connect}
VAULT_VERSION=1.21.1 # keep in step with scripts/test.sh and tools/vault/go.mod
START=$(date +%s)
mkdir -p "$OUT"

log() { printf '[bench.sh %s +%ss] %s\n' "$(date +%H:%M:%S)" "$(($(date +%s) - START))" "$*" >&2; }
want() { [[ " $ONLY " == *" $1 "* ]]; }

# ---- servers (as scripts/test.sh) ---------------------------------------------
PGTMP="" PGBIN="" VAULT_PID="" VAULT_LOG=""
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
	log "done (exit $rc); results in $OUT"
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
	local p
	for _ in $(seq 1 100); do
		p=$((20000 + RANDOM % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

as_postgres() {
	if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start_postgres() {
	if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
		log "installing postgresql"
		DEBIAN_FRONTEND=noninteractive apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
	fi
	PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
	PGTMP=$(mktemp -d /tmp/sikka-pgbench.XXXXXX)
	[ "$(id -u)" = 0 ] && chown postgres:postgres "$PGTMP"
	local port attempt
	as_postgres "$PGBIN/initdb" -D "$PGTMP/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync >/dev/null
	for attempt in 1 2 3; do # a port found free may be taken by the time PostgreSQL binds it
		port=$(free_port)
		as_postgres "$PGBIN/pg_ctl" -D "$PGTMP/data" -l "$PGTMP/server.log" -w -t 30 \
			-o "-c listen_addresses=127.0.0.1 -p $port -k $PGTMP -c fsync=off -c max_connections=300" start >/dev/null && break
		[ "$attempt" = 3 ] && { cat "$PGTMP/server.log" >&2; return 1; }
	done
	as_postgres "$PGBIN/createdb" -h 127.0.0.1 -p "$port" -U postgres sikka_test
	export SIKKA_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$port/sikka_test?sslmode=disable"
	log "PostgreSQL on 127.0.0.1:$port"
}

start_vault() {
	local bin="$CACHE_DIR/vault-$VAULT_VERSION/vault"
	if [ ! -x "$bin" ]; then
		log "Vault $VAULT_VERSION: building from tools/vault (cold: about 7-10 minutes, once)"
		mkdir -p "$(dirname "$bin")"
		(cd "$ROOT/tools/vault" && go build -trimpath -ldflags="-s -w" -o "$bin.tmp.$$" .)
		mv "$bin.tmp.$$" "$bin"
	fi
	local port token attempt
	token="bench-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
	VAULT_LOG=$(mktemp /tmp/sikka-vaultbench.XXXXXX.log)
	for attempt in 1 2 3; do # a port found free may be taken by the time Vault binds it
		port=$(free_port)
		"$bin" server -dev -dev-root-token-id="$token" -dev-listen-address="127.0.0.1:$port" -dev-no-store-token >"$VAULT_LOG" 2>&1 &
		VAULT_PID=$!
		for _ in $(seq 1 100); do
			if curl -fsS "http://127.0.0.1:$port/v1/sys/health" >/dev/null 2>&1; then
				export SIKKA_TEST_VAULT_ADDR="http://127.0.0.1:$port" SIKKA_TEST_VAULT_TOKEN="$token"
				log "Vault dev server on 127.0.0.1:$port"
				return 0
			fi
			kill -0 "$VAULT_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill "$VAULT_PID" 2>/dev/null || true
		wait "$VAULT_PID" 2>/dev/null || true
		log "Vault did not start on 127.0.0.1:$port (attempt $attempt)"
	done
	cat "$VAULT_LOG" >&2
	return 1
}

# ---- benchstat -----------------------------------------------------------------
BENCHSTAT=$(command -v benchstat || true)
if [ -z "$BENCHSTAT" ]; then
	BENCHSTAT="$(go env GOPATH)/bin/benchstat"
	if [ ! -x "$BENCHSTAT" ]; then
		log "installing benchstat (golang.org/x/perf/cmd/benchstat@latest)"
		go install golang.org/x/perf/cmd/benchstat@latest
	fi
fi

# run NAME PKG BENCH [go test args…]: raw output to $OUT/NAME.txt
run() {
	local name=$1 pkg=$2 bench=$3
	shift 3
	log "$name: go test -run '^\$' -bench '$bench' $* $pkg"
	go test -run '^$' -bench "$bench" "$@" "$pkg" | tee "$OUT/$name.txt" | grep --line-buffered -E '^(Benchmark|ok|FAIL|---)' >&2
}

bstat() { # bstat NAME benchstat-args…
	local name=$1
	shift
	"$BENCHSTAT" "$@" "$OUT/$name.txt" >"$OUT/$name.benchstat.txt"
	cat "$OUT/$name.benchstat.txt"
}

# ---- machine notes ---------------------------------------------------------------
{
	echo "date:    $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "commit:  $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
	echo "go:      $(go version)"
	echo "nproc:   $(nproc)"
	echo "cpu:     $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
	echo "memory:  $(free -m | awk '/^Mem:/{print $2 " MiB"}')"
	echo "loadavg: $(cut -d' ' -f1-3 /proc/loadavg) (at start)"
} | tee "$OUT/machine.txt" >&2

if want breakdown || want sweep; then
	start_postgres
	want breakdown && start_vault
fi

if want state; then
	run state ./middleware '^BenchmarkState$' -count "$COUNT" -benchtime 300ms
	bstat state -col '/impl@(gorilla_csrf ours ours_with_binding gorilla_csrf_middleware)'
fi
if want flow; then
	run flow ./middleware '^BenchmarkFlow$' -count "$COUNT" -benchtime 2s
	bstat flow -col '/path@(floor connect)'
	run flowpaired ./middleware '^BenchmarkFlowPaired$' -count "$COUNT" -benchtime 2s
	bstat flowpaired
	# One more run of the whole flow alone, profiled (CPU and allocations).
	go test -run '^$' -bench '^BenchmarkFlow$/path=connect' -benchtime 5s -count 1 \
		-cpuprofile "$OUT/flow.cpu.pprof" -memprofile "$OUT/flow.mem.pprof" -o "$OUT/middleware.test" ./middleware >/dev/null
	go tool pprof -top -cum -nodecount 60 "$OUT/middleware.test" "$OUT/flow.cpu.pprof" >"$OUT/flow.cpu.top.txt" 2>/dev/null
	go tool pprof -sample_index=alloc_space -top -nodecount 40 "$OUT/middleware.test" "$OUT/flow.mem.pprof" >"$OUT/flow.mem.top.txt" 2>/dev/null
	log "flow profile: go tool pprof $OUT/middleware.test $OUT/flow.cpu.pprof"
fi
if want mock; then
	run mock ./mocksikka '^BenchmarkMockThroughput$' -count "$COUNT" -benchtime 1s
	bstat mock -col '/server@(minimal mock)'
	run mockpaired ./mocksikka '^BenchmarkMockThroughputPaired$' -count "$COUNT" -benchtime 20000x
	bstat mockpaired
fi
if want breakdown; then
	run breakdown ./middleware '^BenchmarkCallbackBreakdown$' -count "$COUNT" -benchtime 3s
	bstat breakdown
fi
if want sweep; then
	run sweep ./integration/postgres '^BenchmarkRefreshSweep$' -benchtime 1x -count 1 -timeout 60m
	bstat sweep
fi
log "all benchmarks done"
