// Package benchmarks holds the benchmarks that measure the library against
// its peers: the peers' modules (gorilla/csrf, gorilla/securecookie) are
// required here, never by the library, so a host's module graph does not
// carry them. See docs/BENCHMARKS.md; scripts/bench.sh runs them.
package benchmarks
