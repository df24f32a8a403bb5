// The disconnect route and its same-origin check.

package middleware

import (
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"
)

// disconnect disconnects the signed-in account, for same-origin POSTs only.
func (h *Handler) disconnect(w http.ResponseWriter, r *http.Request, e *entry) {
	acct, ok := h.sameOriginAccount(w, r, e)
	if !ok {
		return
	}
	if err := h.cfg.Service.Disconnect(r.Context(), acct); err != nil {
		h.jsonError(w, e, http.StatusInternalServerError, ReasonInternal, err)
		return
	}
	e.outcome = "disconnected"
	if isFormPost(r) {
		e.httpStatus = http.StatusSeeOther
		w.Header().Set("Location", h.frontend)
		w.WriteHeader(http.StatusSeeOther)
		return
	}
	b, err := h.lookup(r.Context(), acct)
	if err != nil {
		h.jsonError(w, e, http.StatusInternalServerError, ReasonInternal, err)
		return
	}
	h.json(w, e, http.StatusOK, b)
}

// sameOriginAccount returns the signed-in account of a POST that changes
// it (disconnect, connect), or answers 403 cross_origin (sameOrigin) or 401
// not_signed_in and returns false.
func (h *Handler) sameOriginAccount(w http.ResponseWriter, r *http.Request, e *entry) (string, bool) {
	if err := h.sameOrigin(r); err != nil {
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

// sameOrigin refuses requests a browser sent from another origin: by
// Sec-Fetch-Site, else by Origin against Host (net/http's
// CrossOriginProtection, which trusts FrontendURL's origin), else, when a
// browser sent neither, by Referer against Host.
func (h *Handler) sameOrigin(r *http.Request) error {
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

// isFormPost reports whether r is an HTML form submission, which gets a 303
// to the frontend rather than JSON.
func isFormPost(r *http.Request) bool {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/x-www-form-urlencoded" && mt != "multipart/form-data" {
		return false
	}
	return !strings.Contains(r.Header.Get("Accept"), "application/json")
}
