// The disconnect route and its same-origin check.

package middleware

import (
	"mime"
	"net/http"
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

// isFormPost reports whether r is an HTML form submission, which gets a 303
// to the frontend rather than JSON.
func isFormPost(r *http.Request) bool {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/x-www-form-urlencoded" && mt != "multipart/form-data" {
		return false
	}
	return !strings.Contains(r.Header.Get("Accept"), "application/json")
}
