// Package middleware is the HTTP side of connecting a practice through
// Sikka: five routes a host application mounts into its own server (any
// router), which run the flow and leave the domain work to an
// integration.Service.
//
//	h, err := middleware.New(middleware.Config{
//		Service:     svc,                    // *integration.Service (app id and Sikka's page: its client)
//		RedirectURI: "https://app.parlae.ca/agent/setup/pms/callback",
//		FrontendURL: "https://app.parlae.ca/agent/setup/pms",
//		StateKeys:   []middleware.Key{{ID: "2025-06", Secret: secret}}, // ≥32 random bytes
//		Account:     currentAccount,         // func(*http.Request) (string, error)
//	})
//	h.Mount(mux)                              // http.ServeMux; MountMux for gorilla/mux
//
// FromEnv reads the same settings from SIKKA_* variables (Env.Config), and
// those of the Sikka client (app id and key, API URL, authorization page).
//
// # Routes
//
// Under Config.Prefix (default "/agent/setup/pms"):
//
//   - GET start: mints a state for the signed-in account, sets the flow's
//     browser-binding cookie and redirects (302) to
//     Service.AuthorizeURL: Sikka's authorization page (the service's Sikka
//     client's) with ?app_id=…&redirect_uri=…&state=…. An account id the secret
//     store cannot name (Service.CheckAccount) is refused here, before
//     Sikka, with reason=internal and the rule in the log. An account that
//     already has integration.DefaultMaxFlowsPerAccount unfinished flows
//     (the nonce store's bound) gets 429 with Retry-After.
//   - GET callback: where Sikka sends the browser back (RedirectURI). It
//     verifies the state, calls Service.Connect with the code, and redirects
//     (302) to FrontendURL with the outcome.
//   - GET status: the signed-in account's StatusBody as JSON (below); never
//     a secret, nor the secret's reference.
//   - POST disconnect: disconnects the signed-in account. Same-origin only
//     (Sec-Fetch-Site, else Origin against Host, else Referer; FrontendURL's
//     origin is trusted): a cross-site request gets 403 and changes nothing.
//     A fetch gets 200 with the StatusBody; an HTML form post
//     (application/x-www-form-urlencoded or multipart/form-data, without
//     Accept: application/json) gets 303 to FrontendURL.
//   - POST connect: connects the signed-in account to a practice that
//     onboarded through the Sikka Marketplace (Sikka's documented path, no
//     authorization page), from the form fields or JSON members office_id
//     and secret_key (Service.ConnectOffice). Same-origin only, as
//     disconnect. A form post gets 303 to FrontendURL with the outcome
//     (below); a fetch gets a ConnectBody, {"status":"error",
//     "reason":"invalid_credentials","message":"…"} with 403 say, or
//     {"status":"success",…,"connection":{StatusBody}}. The secret key is
//     never logged nor echoed.
//
// The status JSON of a connected account:
//
//	{"connected":true,"status":"ACTIVE","practiceName":"Happy Dental Clinic","pmsType":"Dentrix",
//	 "officeId":"D36225","connectedAt":"2026-02-10T04:00:28Z","message":"Connected to Happy Dental Clinic (Dentrix)"}
//
// and of one that never connected: {"connected":false,"status":"NOT_CONNECTED","message":"Not connected."}.
//
// A signed-out request gets 401 (start: text; status, disconnect, connect:
// {"error":"not_signed_in"}). Other methods get 405 with Allow.
//
// # Outcomes
//
// The callback only ever redirects to FrontendURL (its query and fragment
// kept), adding one of:
//
//	?status=success
//	?status=cancelled                        Sikka: error=access_denied
//	?status=error&reason=invalid_state       any refusal of the callback (below)
//	?status=error&reason=invalid_code        Sikka refused the code, listed no practice, or sent another error
//	?status=error&reason=already_connected   another account holds the practice
//	?status=error&reason=provider_unavailable Sikka is down (also error=server_error|temporarily_unavailable)
//	?status=error&reason=internal            anything else; the log has the cause
//
// and POST connect lands on the same page with success, already_connected,
// provider_unavailable, internal, or one of its own:
//
//	?status=error&reason=not_authorized      Sikka does not list the office for the app (404 to a fetch)
//	?status=error&reason=invalid_credentials the secret key (proof) was refused (403)
//	?status=error&reason=too_many_attempts   more than 5 refused attempts (wrong key, office not listed) for the account or office in 15 min (429)
//
// Message gives the text the frontend shows for each (the original notes'
// texts, e.g. "Authorization cancelled. You can try again anytime.");
// SuccessMessage gives "Successfully connected to Happy Dental Clinic
// (Dentrix)".
//
// # State
//
// A state is base64url(payload) "." base64url(HMAC-SHA256), the payload
// holding a layout version, the issue time, a 128-bit random nonce, the
// signing key's id and the account id. The callback accepts it only if the
// MAC verifies under the key it names (constant-time; any of StateKeys, so
// keys rotate), it is at most StateTTL old (ClockSkew allowed both ways),
// it was minted for the signed-in account, the browser presents the flow's
// binding cookie, and its nonce is consumed from the NonceStore, once,
// atomically. The binding cookie is HttpOnly, SameSite=Lax, Secure (unless
// the RedirectURI is the plain-http loopback of DevMode, where curl's cookie
// jar would drop a Secure cookie), limited to the directory of the
// RedirectURI's path, named after the nonce (one cookie per flow, so several
// tabs work) and holds a MAC of the nonce. The callback clears it once the
// flow can no longer finish (expired, or its nonce spent); a refusal before
// that (another account signed in, say) keeps it, so the right account can
// still finish. A browser holds at most MaxFlowCookies of them: a start that
// finds that many clears them first.
// Config.DisableBrowserBinding drops the cookie for hosts that forward code
// and state server to server.
//
// Each refusal has its own error (ErrStateMissing, ErrStateMalformed,
// ErrStateUnknownKey, ErrStateTampered, ErrStateExpired, ErrStateReplayed,
// ErrStateForeignAccount, ErrStateNoCookie, ErrNotSignedIn,
// ErrCallbackMalformed, ErrCallbackAmbiguous, ErrCodeMissing, ErrCodeMalformed), reported in
// the log and to Hooks.Finished as Outcome.Err, while the browser always
// gets reason=invalid_state. The checks run in that spirit, cheapest first:
// the query's shape (one state; a code or an error, not both), then the
// state, and only then the code or error. A cancel (error=access_denied)
// whose state does not verify is therefore invalid_state, not cancelled: an
// unverified callback never tells the frontend anything but invalid_state.
// A nonce store that fails (a database down) gives reason=internal.
//
// # Logs and metrics
//
// Each request logs one line (slog): request_id (X-Request-Id when it is a
// plain token, else generated; echoed in the response), route, account_id,
// outcome, reason, error and duration_ms. No code, state, nonce, cookie
// value, key or practice secret is ever logged. Prometheus metrics live in
// middleware/metrics, wired through Config.Hooks. Nonces are kept by the
// service's repository (Service.Nonces, the default of Config.Nonces), so
// replicas on integration/postgres share them with no further wiring; the
// middleware imports no storage package.
package middleware
