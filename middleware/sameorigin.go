package middleware

import "net/http"

// SameOrigin returns an error when a browser sent r from another origin,
// by the rule the disconnect and connect routes apply (Sec-Fetch-Site,
// else Origin against Host or FrontendURL's origin, else Referer), and nil
// otherwise. A host checks its own state-changing routes beside the
// middleware with it, answering 403 on an error.
func (h *Handler) SameOrigin(r *http.Request) error { return h.sameOrigin(r) }
