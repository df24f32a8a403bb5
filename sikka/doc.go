// Package sikka is a typed client of the Sikka v4 API: the calls an app
// makes to connect a dental practice's management system through Sikka,
// keep that connection alive, and use it (DataClient: the practice's data
// and writebacks).
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
//	// 3. Before key.Expiry (24 hours; refresh with about an hour left), or
//	//    as soon as a call says the request key is no good
//	//    (errors.Is(err, sikka.ErrKeyRejected)):
//	key, err = c.RefreshKey(ctx, key.RefreshKey)
//	if errors.Is(err, sikka.ErrUnauthorized) || errors.Is(err, sikka.ErrInvalidGrant) {
//		// The refresh key is dead: mint a key from the office credentials.
//		key, err = c.RequestKey(ctx, practice.OfficeID, practice.SecretKey)
//	}
//
//	// 4. On disconnect, end both keys at Sikka (best effort):
//	_ = c.RevokeKey(ctx, key.RequestKey)
//	_ = c.RevokeRefreshKey(ctx, key.RefreshKey)
//
// A practice onboarded through the Sikka Marketplace (the documented path)
// needs no authorization page: AuthorizedPracticesForApp lists it, or
// AuthorizedPractice(ctx, officeID) reads it, with its secret key, and
// RequestKey mints its keys.
//
// # Practice data and writebacks
//
// Once connected, a DataClient reads the practice's data and submits
// writebacks. It takes the request key from any source, asked again for
// each request (Client.Data with a KeySource, StaticKey for a key you
// hold), or lets an HTTP client that authenticates by itself set it
// (Client.DataVia, such as the integration's per-account
// Service.HTTPClient(accountID), which also renews a rejected key):
//
//	dc := c.Data(sikka.StaticKey(key.RequestKey)) // or c.DataVia(svc.HTTPClient(accountID))
//
//	n, err := dc.Count(ctx, "patients")
//	for appt, err := range dc.Appointments(ctx, sikka.Dates(today, today)) {
//		if err != nil { … } // the list ends after an error
//		fmt.Println(appt.Start, appt.PatientName)
//	}
//
//	wb, err := dc.BookAppointment(ctx, sikka.NewAppointment{…, CheckSPU: true})
//	st, err := dc.WaitWriteback(ctx, wb.ID, nil) // until completed or failed
//
// Lists (List, and Patients, Appointments, Providers, Transactions,
// AvailableSlots) are iterators that read one page per GET as the loop
// reaches it; offset is Sikka's page index (offset N with limit M is rows
// N·M+1 to N·M+M), the page size 50 by default and 5000 at most
// (PageSize), and the list ends at an empty page, at total_count, at a
// pagination without a next link, or at a short page. Fields adds fields to
// the defaults, AllFields asks for fields=get_all, Lightweight for only the
// fields named; Filter, PracticeID, Dates and DateFilterOn set the
// endpoint's filters. Typed items read Sikka's strings: dates without a
// zone (Timestamp keeps the text as sent beside the time read as UTC),
// "True"/"F"/"1" booleans, amounts as sent (Amount.Cents for exact
// arithmetic), "" as zero; unknown fields are ignored. Record reads any
// endpoint's items as text.
//
// Writebacks (BookAppointment, AddPatient, AddMedicalNote, Submit for the
// others) answer 201 with an id; Sikka's utility on the practice's server
// (the SPU) carries them out later. WritebackStatus reads one;
// WaitWriteback polls with backoff until it completed, or failed
// (ErrWritebackFailed, the text carrying Sikka's result), or the context
// ends. With CheckSPU, Sikka refuses a writeback while the SPU is offline:
// 412 API2017, ErrSPUOffline.
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
// Practice.PMSRaw. No content (a 204, an empty body, or the API2005
// envelope) answering a list is an empty list, and past the first page the
// end of the list.
//
// # Errors
//
// Every error is an *Error (errors.As) carrying the call, the HTTP status,
// Sikka's error envelope and rate-limit headers, and matches, by HTTP
// status, at most one of the sentinels for errors.Is: ErrInvalidGrant (400
// from POST /v4/request_key), ErrUnauthorized (401, 403), ErrRateLimited
// (429), ErrUnavailable (5xx, 408, redirects, transport failures, non-JSON
// answers) or ErrNoSuchPractice (AuthorizedPractice: 404 or not listed),
// and for the data client ErrSPUOffline (412 API2017), ErrNoSuchWriteback
// and ErrWritebackFailed.
// ErrKeyRejected may match besides, on a call that sent a request key: Sikka
// answered 400 with API1004 (key missing, unknown or revoked) or API1025
// (key expired), or 401/403; get another key. When the caller's context
// ends, context.Canceled or context.DeadlineExceeded matches too.
//
// # Retries
//
// Each attempt is bounded by an attempt timeout (10s by default) and
// retried with jittered exponential backoff (Backoff, DefaultBackoff), up to
// three attempts, only where it is safe:
//
//   - GET (AuthorizedPractices, AuthorizedPracticesForApp,
//     AuthorizedPractice, RequestKeyInfo, each page of a DataClient list,
//     Count, WritebackStatus) and DELETE (RevokeKey, RevokeRefreshKey): on
//     429, 5xx, 408, transport failures and unreadable answers.
//   - RequestKey, RefreshKey and writebacks (POST): on 429, and on failures
//     that surely happened before the request left (dialing failed, no
//     connection was ever obtained). Never after Sikka may have processed
//     them.
//   - ExchangeCode: never; the code is single-use.
//
// A Retry-After (seconds or an HTTP date) replaces the backoff, and so, on a
// 429 without one, does X-Rate-Limit-Reset (the seconds left in Sikka's rate
// window, also kept in Error.RateLimitReset); a wait longer than the maximum
// (30s by default), or one that would outlast the context's deadline, ends
// the call at once with the error.
//
// # Secrets
//
// The app key, codes, secret keys, request keys and refresh keys never
// appear in an error's text or in the client's logs (slog, discarded by
// default): they travel in bodies and headers, never in URLs; redirects
// are never followed (they would carry the headers and body elsewhere); of
// an error body only the envelope fields are kept (the six, and
// log_message), each cut to a limit;
// and text echoed by Sikka (and the text of transport errors) is scrubbed of
// them on the error path, in any letter case, URL-, JSON-, HTML- or
// base64-encoded, and in part (any run of 8 consecutive characters, or half
// of a secret shorter than 16); that includes a request key that the HTTP
// client of DataVia set by itself (read from the request as sent). Key,
// Practice and Client redact their
// secrets in String, GoString, Format and (Key, Practice) slog's LogValue;
// their fields stay exported for the code that must store them.
package sikka
