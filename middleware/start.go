// The start route and the browser-binding cookie it sets.

package middleware

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/parlae/sikka-connect/integration"
)

// start mints a state, binds it to the browser and sends the browser to Sikka.
func (h *Handler) start(w http.ResponseWriter, r *http.Request, e *entry) {
	w.Header().Set("Cache-Control", "no-store")
	acct, err := h.account(r)
	if err != nil {
		e.err = err
		e.httpStatus = http.StatusUnauthorized
		http.Error(w, "not signed in", http.StatusUnauthorized)
		return
	}
	e.account = acct
	fail := func(err error) {
		e.err, e.outcome, e.reason = err, StatusError, ReasonInternal
		e.httpStatus = http.StatusFound
		h.redirect(w, h.frontendURL(StatusError, ReasonInternal))
	}
	if err := h.cfg.Service.CheckAccount(acct); err != nil {
		// The host's account id cannot name a secret: refused here, before
		// the practice goes through Sikka's page for nothing.
		fail(fmt.Errorf("middleware: %w", err))
		return
	}
	nonce, err := newNonce()
	if err != nil {
		fail(fmt.Errorf("middleware: nonce: %w", err))
		return
	}
	s := state{accountID: acct, issued: h.cfg.Now().Truncate(time.Second), nonce: nonce}
	key := h.cfg.StateKeys[0]
	token := encodeState(key, s)
	ttl := h.cfg.StateTTL + ClockSkew
	saveCtx, cancel := context.WithTimeout(r.Context(), nonceTimeout)
	defer cancel()
	if err := h.cfg.Nonces.Save(saveCtx, acct, s.nonceString(), s.issued.Add(ttl)); err != nil {
		if errors.Is(err, integration.ErrTooManyFlows) {
			e.err = err
			e.httpStatus = http.StatusTooManyRequests
			w.Header().Set("Retry-After", strconv.Itoa(int(ttl/time.Second)))
			http.Error(w, "Too many connect attempts are in progress for this account: "+
				"finish one, or try again in a few minutes.", http.StatusTooManyRequests)
			return
		}
		fail(fmt.Errorf("middleware: save nonce: %w", err))
		return
	}
	if !h.cfg.DisableBrowserBinding {
		h.dropOldFlowCookies(w, r)
		http.SetCookie(w, h.bindingCookie(cookieName(s), bindingValue(key, s), int(ttl/time.Second)))
	}
	e.httpStatus = http.StatusFound
	h.redirect(w, h.authorizeURL(token))
	if f := h.cfg.Hooks.Started; f != nil {
		f(r, acct)
	}
}

// MaxFlowCookies is how many binding cookies (flows started and not yet
// finished) a browser keeps at once. A start that finds this many in the
// request clears them all before it sets its own: the flows of those cookies
// end as invalid_state, and the browser's Cookie header stays small (each
// cookie costs about 50 bytes; proxies commonly refuse headers past 8 KB).
const MaxFlowCookies = 8

// dropOldFlowCookies clears every binding cookie of r when r carries
// MaxFlowCookies or more of them. The start route sees them when it is
// served under the callback's directory, as with Mount and MountMux; the
// per-account bound of the NonceStore limits them everywhere else.
func (h *Handler) dropOldFlowCookies(w http.ResponseWriter, r *http.Request) {
	var names []string
	for _, c := range r.Cookies() {
		if strings.HasPrefix(c.Name, cookiePrefix) {
			names = append(names, c.Name)
		}
	}
	if len(names) < MaxFlowCookies {
		return
	}
	for _, name := range names {
		http.SetCookie(w, h.bindingCookie(name, "", -1))
	}
}

// bindingCookie is a binding cookie of the handler's path; maxAge -1
// deletes it. It is Secure unless the RedirectURI is plain http (DevMode on
// loopback only), where a Secure cookie would never come back (curl's cookie
// jar and some browsers drop it) and the flow would end as invalid_state.
func (h *Handler) bindingCookie(name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     h.cookiePath,
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   h.secureCookies,
		SameSite: http.SameSiteLaxMode,
	}
}

// cookieName names the binding cookie of s's flow.
func cookieName(s state) string {
	sum := sha256.Sum256(s.nonce[:])
	return cookiePrefix + hex.EncodeToString(sum[:8])
}

// bindingValue is the value of the binding cookie of s's flow: a MAC of the
// nonce under the state's key, so that whoever reads a state (it travels in
// URLs) still cannot make its cookie.
func bindingValue(k Key, s state) string {
	sum := k.sum(bindingMACLabel, s.nonce[:])
	var out [(nonceLen*8 + 5) / 6]byte // unpadded base64 of nonceLen bytes
	base64.RawURLEncoding.Encode(out[:], sum[:nonceLen])
	return string(out[:])
}

const bindingMACLabel = "sikka-connect binding v1\x00"

// key returns the configured key of id, which a parsed state's keyID always is.
func (h *Handler) key(id string) Key {
	for _, k := range h.cfg.StateKeys {
		if k.ID == id {
			return k
		}
	}
	return Key{}
}
