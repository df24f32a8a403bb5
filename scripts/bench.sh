#!/usr/bin/env bash
# scripts/bench.sh: the project's benchmarks, each beside its peer or floor
# in the same run, compared with benchstat (docs/BENCHMARKS.md).
#
#   state        BenchmarkState           ours (./middleware) vs gorilla/csrf (./benchmarks,
#                                         a module of its own), one run (mint + verify)
#   flow         BenchmarkFlow, BenchmarkFlowPaired
#                                         whole connect flow vs bare HTTP round trips, and vs a
#                                         replay of its own bytes (+ CPU and allocation profiles)
#   mock         BenchmarkMockThroughput, BenchmarkMockThroughputPaired
#                                         mock Sikka vs a minimal handler, same JSON
#   data         BenchmarkDataPatientsPage, BenchmarkDataMemory
#                                         the mock's practice data: a 5000-patient page vs the
#                                         same bytes pre-encoded; memory and generation time
#   breakdown    BenchmarkCallbackBreakdown  a callback on PostgreSQL + Vault, split by part
#   sweep        BenchmarkRefreshSweep    RefreshDue over 10k/50k due records (100k: SIKKA_BENCH_SWEEP_100K=1)
#   conn         BenchmarkCredentials, BenchmarkSikkaGET, BenchmarkSikkaGETPaired
#                                         cached vs uncached Credentials (PostgreSQL + Vault); a GET
#                                         through HTTPClient vs a bare client and x/oauth2 (./benchmarks)
#
# It starts a throwaway PostgreSQL and a Vault dev server on free loopback
# ports exactly as scripts/test.sh does (reusing its cached Vault binary, or
# building it once), installs benchstat if missing, and writes everything to
# $SIKKA_BENCH_OUT (default artifacts/bench/): raw go test output per
# benchmark, benchstat tables, the flow's pprof profile, machine notes.
#
# Knobs:
#   SIKKA_BENCH_COUNT     -count of the short benchmarks (default 6)
#   SIKKA_BENCH_ONLY      a subset, e.g. "state flow" (default: all six)
#   SIKKA_BENCH_SWEEP_100K=1  adds the 100k-record sweep (about 2-4 minutes more)
#   SIKKA_CACHE_DIR       where the Vault binary is kept (as scripts/test.sh)
#
# The benchmarks only run with -bench: `go test ./...` and .ci/run never run them.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)
COUNT=${SIKKA_BENCH_COUNT:-6}
ONLY=${SIKKA_BENCH_ONLY:-state flow mock data breakdown sweep conn}
OUT=${SIKKA_BENCH_OUT:-$ROOT/artifacts/bench}
CACHE_DIR=${SIKKA_CACHE_DIR:-${HOME:-/root}/.cache/sikka-connect}
START=$(date +%s)
mkdir -p "$OUT"

log() { printf '[bench.sh %s +%ss] %s\n' "$(date +%H:%M:%S)" "$(($(date +%s) - START))" "$*" >&2; }
want() { [[ " $ONLY " == *" $1 "* ]]; }

# ---- servers (scripts/lib/servers.sh, as scripts/test.sh) -------------------------
# shellcheck source=lib/servers.sh
source "$ROOT/scripts/lib/servers.sh"
cleanup() {
	local rc=$?
	stop_servers
	log "done (exit $rc); results in $OUT"
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- benchstat -----------------------------------------------------------------
BENCHSTAT=$(command -v benchstat || true)
if [ -z "$BENCHSTAT" ]; then
	BENCHSTAT="$(go env GOPATH)/bin/benchstat"
	if [ ! -x "$BENCHSTAT" ]; then
		log "installing benchstat (golang.org/x/perf/cmd/benchstat@latest)"
		go install golang.org/x/perf/cmd/benchstat@latest
	fi
fi

# run NAME PKGS BENCH [go test args…]: raw output to $OUT/NAME.txt. PKGS is
# one package or several, space-separated, of any module go.work joins.
run() {
	local name=$1 pkgs=$2 bench=$3
	shift 3
	log "$name: go test -run '^\$' -bench '$bench' $* $pkgs"
	# shellcheck disable=SC2086
	go test -run '^$' -bench "$bench" "$@" $pkgs | tee "$OUT/$name.txt" | grep --line-buffered -E '^(Benchmark|ok|FAIL|---)' >&2
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

if want breakdown || want sweep || want conn; then
	start_postgres
	{ want breakdown || want conn; } && start_vault
fi

if want state; then
	run state "./middleware ./benchmarks" '^BenchmarkState$' -count "$COUNT" -benchtime 300ms
	# -ignore pkg: the two packages' rows are one benchmark, side by side.
	bstat state -ignore pkg -col '/impl@(gorilla_csrf ours ours_with_binding gorilla_csrf_middleware)'
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
if want data; then
	run data ./mocksikka '^BenchmarkDataPatientsPage$' -count "$COUNT" -benchtime 20x -timeout 30m
	bstat data -col '/server@(preencoded mock)'
	run datamemory ./mocksikka '^BenchmarkDataMemory$' -count 3 -benchtime 3x -timeout 30m
	bstat datamemory
fi
if want breakdown; then
	run breakdown ./middleware '^BenchmarkCallbackBreakdown$' -count "$COUNT" -benchtime 3s
	bstat breakdown
fi
if want sweep; then
	run sweep ./integration/postgres '^BenchmarkRefreshSweep$' -benchtime 1x -count 1 -timeout 60m
	bstat sweep
fi
if want conn; then
	run creds ./integration '^BenchmarkCredentials$' -count "$COUNT"
	bstat creds -col /cache
	run get ./benchmarks '^BenchmarkSikkaGET$' -count "$COUNT" -benchmem
	bstat get -col /impl
	run getpaired ./benchmarks '^BenchmarkSikkaGETPaired$' -count "$COUNT"
	bstat getpaired
fi
log "all benchmarks done"
