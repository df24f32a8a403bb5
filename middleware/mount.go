package middleware

import "github.com/gorilla/mux"

// MountMux registers h on the gorilla/mux router r for each of its paths,
// with no method matcher (h answers 405 itself). Middleware of r, such as
// the host's session loading, applies as to any other route.
func MountMux(r *mux.Router, h *Handler) {
	for _, p := range h.Paths() {
		r.Handle(p, h)
	}
}
