package main

import (
	"net/http"
)

// withHealth serves the probes in front of the mock (whose own paths are
// the Sikka API's and /_mock/'s): GET /healthz answers 200 "ok" and GET
// /readyz 200 {"status":"ready"} while the mock serves, since it depends
// on nothing else. Probes are not logged nor journaled by the mock.
func withHealth(mock http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write([]byte(`{"status":"ready"}` + "\n"))
	})
	mux.Handle("/", mock)
	return mux
}
