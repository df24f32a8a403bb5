package middleware

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
)

// sameOriginAccount returns the signed-in account of a POST that changes
// it (disconnect, connect), or answers 403 cross_origin (SameOrigin) or 401
// not_signed_in and returns false.
func (h *Handler) sameOriginAccount(w http.ResponseWriter, r *http.Request, e *entry) (string, bool) {
	if err := h.SameOrigin(r); err != nil {
		h.jsonError(w, e, http.StatusForbidden, "cross_origin", err)
		return "", false
	}
	acct, err := h.account(r)
	if err != nil {
		h.jsonError(w, e, http.StatusUnauthorized, "not_signed_in", err)
		return "", false
	}
	e.account = acct
	return acct, true
}

// errCrossOrigin: a disconnect or connect from another site.
var errCrossOrigin = errors.New("middleware: cross-origin request refused")

// SameOrigin returns an error when a browser sent r from another origin,
// by the rule the disconnect and connect routes apply, and nil otherwise:
// by Sec-Fetch-Site, else by Origin against Host (net/http's
// CrossOriginProtection, which trusts FrontendURL's origin), else, when a
// browser sent neither, by Referer against Host. A host checks its own
// state-changing routes beside the middleware with it, answering 403 on an
// error.
func (h *Handler) SameOrigin(r *http.Request) error {
	if err := h.origins.Check(r); err != nil {
		return fmt.Errorf("%w: %w", errCrossOrigin, err)
	}
	if r.Header.Get("Sec-Fetch-Site") == "" && r.Header.Get("Origin") == "" {
		if ref := r.Header.Get("Referer"); ref != "" {
			u, err := url.Parse(ref)
			if err != nil || u.Host != r.Host && !h.trustedReferer(u) {
				return fmt.Errorf("%w: Referer from another host", errCrossOrigin)
			}
		}
	}
	return nil
}

func (h *Handler) trustedReferer(u *url.URL) bool {
	fe, _ := url.Parse(h.frontend)
	return fe.Host != "" && u.Scheme == fe.Scheme && u.Host == fe.Host
}
