// Package sikka is a typed client of the Sikka v4 API: the calls an app
// makes to connect a dental practice's management system through Sikka and
// keep that connection alive.
//
//	c := sikka.New(appID, appKey) // options: WithBaseURL, WithLogger, …
//
//	// 1. Send the practice to Sikka's authorization page.
//	http.Redirect(w, r, c.AuthorizeURL(redirectURI, state), http.StatusFound)
//
//	// 2. On the redirect back, trade the code for a request key, then read
//	//    the practice it was issued to (with its office id and secret key).
//	key, err := c.ExchangeCode(ctx, code)
//	practices, err := c.AuthorizedPractices(ctx, key.RequestKey)
//	practice, ok := sikka.PrimaryPractice(practices, key.IssuedTo)
//
//	// 3. Before key.Expiry (24 hours; refresh with about an hour left):
//	key, err = c.RefreshKey(ctx, key.RefreshKey)
//	if errors.Is(err, sikka.ErrUnauthorized) || errors.Is(err, sikka.ErrInvalidGrant) {
//		// The refresh key is dead: mint a key from the office credentials.
//		key, err = c.RequestKey(ctx, practice.OfficeID, practice.SecretKey)
//	}
//
// # Wire format
//
// The client follows Sikka's real responses (every value a JSON string,
// expires_in as "85603 second(s)", the list envelope with pagination, the
// error envelope) and also accepts the simplified shapes of the original
// integration notes (numbers, a bare expires_in, pms_type instead of
// practice_management_system, {"items":[…]} without pagination). Sikka's
// start_time and end_time carry no time zone: they are read as UTC. A key's
// Expiry is computed once, when the response arrives: expires_in added to
// the client's clock, else end_time. Names of practice-management systems
// are normalised for display (NormalizePMS) and kept as sent in
// Practice.PMSRaw.
//
// # Errors
//
// Every error is an *Error (errors.As) carrying the call, the HTTP status
// and Sikka's error envelope, and matches, by HTTP status, one of the
// sentinels for errors.Is: ErrInvalidGrant (400 from POST /v4/request_key),
// ErrUnauthorized (401, 403), ErrRateLimited (429) or ErrUnavailable (5xx,
// 408, redirects, transport failures, non-JSON answers). When the caller's context
// ends, context.Canceled or context.DeadlineExceeded matches too.
//
// # Retries
//
// Each attempt is bounded by an attempt timeout (10s by default) and
// retried with jittered exponential backoff (Backoff, DefaultBackoff), up to
// three attempts, only where it is safe:
//
//   - GET (AuthorizedPractices, AuthorizedPracticesForApp, RequestKeyInfo)
//     and DELETE (RevokeKey): on 429, 5xx, 408, transport failures and
//     unreadable answers.
//   - RequestKey and RefreshKey (POST): on 429, and on failures that surely
//     happened before the request left (dialing failed, no connection was
//     ever obtained). Never after Sikka may have processed them.
//   - ExchangeCode: never; the code is single-use.
//
// A Retry-After (seconds or an HTTP date) replaces the backoff; one longer
// than the maximum wait (30s by default), or one that would outlast the
// context's deadline, ends the call at once with the error.
//
// # Secrets
//
// The app key, codes, secret keys, request keys and refresh keys never
// appear in an error's text or in the client's logs (slog, discarded by
// default): they travel in bodies and headers, never in URLs; redirects
// are never followed (they would carry the headers and body elsewhere); of
// an error body only the six envelope fields are kept, each cut to a limit;
// and text echoed by Sikka (and the text of transport errors) is scrubbed of
// them on the error path, in any letter case, URL-, JSON-, HTML- or
// base64-encoded, and in part (any run of 8 consecutive characters, or half
// of a secret shorter than 16). Key, Practice and Client redact their
// secrets in String, GoString, Format and (Key, Practice) slog's LogValue;
// their fields stay exported for the code that must store them.
package sikka
