// The callback route: verify the state, connect, redirect to the frontend.

package middleware

import (
	"context"
	"crypto/subtle"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// callback verifies the state, connects, and redirects to the frontend.
func (h *Handler) callback(w http.ResponseWriter, r *http.Request, e *entry) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	o := h.runCallback(w, r, e)
	o.Duration = time.Since(e.begin)
	e.account, e.outcome, e.reason, e.err = o.AccountID, o.Status, o.Reason, o.Err
	e.httpStatus = http.StatusFound
	h.redirect(w, h.frontendURL(o.Status, o.Reason))
	if f := h.cfg.Hooks.Finished; f != nil {
		f(r, o)
	}
}

func (h *Handler) runCallback(w http.ResponseWriter, r *http.Request, e *entry) Outcome {
	acct, acctErr := h.account(r)
	refuse := func(stateAccount string, err error) Outcome {
		o := Outcome{Status: StatusError, Reason: ReasonInvalidState, Err: err, AccountID: acct}
		if o.AccountID == "" {
			o.AccountID = stateAccount
		}
		return o
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return refuse("", ErrCallbackMalformed)
	}
	for _, k := range []string{"state", "code", "error"} {
		if len(q[k]) > 1 {
			return refuse("", ErrCallbackMalformed)
		}
	}
	token, code, providerErr := q.Get("state"), q.Get("code"), q.Get("error")
	switch {
	case token == "":
		return refuse("", ErrStateMissing)
	case code != "" && providerErr != "":
		return refuse("", ErrCallbackAmbiguous)
	case code == "" && providerErr == "":
		return refuse("", ErrCodeMissing)
	}
	s, err := parseState(h.cfg.StateKeys, token)
	if err != nil {
		return refuse("", err)
	}
	// The flow's cookie goes once the flow can no longer finish (expired,
	// or its nonce spent); a refusal before that keeps it, so the right
	// account in this browser can still finish the flow.
	dropCookie := func() {
		if !h.cfg.DisableBrowserBinding {
			http.SetCookie(w, h.bindingCookie(cookieName(s), "", -1))
		}
	}
	if err := s.checkAge(h.cfg.Now(), h.cfg.StateTTL); err != nil {
		dropCookie()
		return refuse(s.accountID, err)
	}
	if acctErr != nil {
		return refuse(s.accountID, acctErr)
	}
	if subtle.ConstantTimeCompare([]byte(acct), []byte(s.accountID)) != 1 {
		return refuse(acct, ErrStateForeignAccount)
	}
	if !h.cfg.DisableBrowserBinding {
		c, err := r.Cookie(cookieName(s))
		if err != nil || subtle.ConstantTimeCompare([]byte(c.Value), []byte(bindingValue(h.key(s.keyID), s))) != 1 {
			return refuse(acct, ErrStateNoCookie)
		}
	}
	consumeCtx, cancel := context.WithTimeout(r.Context(), nonceTimeout)
	defer cancel()
	fresh, err := h.cfg.Nonces.Consume(consumeCtx, s.nonceString())
	if err != nil {
		return Outcome{Status: StatusError, Reason: ReasonInternal, Err: fmt.Errorf("middleware: consume nonce: %w", err), AccountID: acct}
	}
	dropCookie()
	if !fresh {
		return refuse(acct, ErrStateReplayed)
	}
	if code != "" && !validCode(code) {
		// A genuine flow with a code no authorization code looks like:
		// never sent to Sikka (nor logged).
		return Outcome{Status: StatusError, Reason: ReasonInvalidCode, Err: ErrCodeMalformed, AccountID: acct}
	}

	if providerErr != "" {
		if providerErr == "access_denied" {
			return Outcome{Status: StatusCancelled, AccountID: acct}
		}
		return Outcome{Status: StatusError, Reason: providerErrorReason(providerErr), AccountID: acct,
			Err: fmt.Errorf("%w: %s", ErrProviderDenied, loggableErrorValue(providerErr))}
	}

	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), connectTimeout)
	defer cancel()
	rec, err := h.cfg.Service.Connect(ctx, acct, code)
	if err != nil {
		return Outcome{Status: StatusError, Reason: connectReason(err), Err: err, AccountID: acct}
	}
	return Outcome{Status: StatusSuccess, AccountID: acct, Record: rec}
}
