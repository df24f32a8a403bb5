// Package mocksikka is a mock of the Sikka v4 API for tests and demos: an http.Handler that
// speaks Sikka's real wire format (every JSON value a string, the list envelope, the error
// envelope, real status codes) and can be scripted from Go or over HTTP under /_mock/.
// It imports only the standard library.
//
// Use it in-process:
//
//	mock := mocksikka.New(mocksikka.WithAutoApprove(mocksikka.DefaultOfficeID))
//	srv := httptest.NewServer(mock)
//	defer srv.Close()
//	// point the client at srv.URL; then script and inspect:
//	mock.InjectFault(mocksikka.Fault{Endpoint: "POST /v4/request_key", Count: 1, Status: 503})
//	mock.Advance(25 * time.Hour) // every key issued so far has expired
//	n := mock.Count("POST /v4/request_key", "refresh_key")
//
// or as a binary: go run ./cmd/mocksikka -h.
//
// # API routes
//
//   - GET /portal/authapp.aspx?app_id&redirect_uri&state: the consent page (or, with
//     auto-approve, an immediate redirect with a code). POST /portal/authapp.aspx is its form:
//     decision=allow redirects to redirect_uri?code=…&state=…, decision=deny to
//     redirect_uri?error=access_denied&error_description=…&state=…. An unknown app, or a
//     redirect_uri not registered for it, gets a 400 page and never a redirect; so does an
//     unknown office_id on Allow. The state is passed back unchanged (omitted when empty).
//   - POST /v4/request_key (Content-Type: application/json, else 415) with grant_type
//     authorization_code (code, app_id, app_key), request_key (office_id, secret_key, app_id,
//     app_key) or refresh_key (refresh_key, app_id, app_key). Every grant issues a new request
//     key and refresh key, valid for the key TTL (24h).
//   - DELETE /v4/request_key revokes a key and its refresh key: the key in the Request-Key
//     header, or a JSON body {"request_key","app_id","app_key"} of the app the key belongs to.
//     200 {"issued_to","status":"revoked"}; an unusable key is 401.
//   - GET /v4/authorized_practices, with Request-Key (the key's office) or App-Id and App-Key
//     headers (onboarded apps: every configured office; other apps: every office that
//     authorized the app, by Allow, by a code or by a key issued). Items carry exactly the 21
//     fields of Sikka's example, secret_key included, href the absolute
//     /v4/authorized_practices/{office_id}. Query: limit, offset, show=all (without it only
//     practice_id "1" rows), practice_id, practice_name, practice_management_system(_version),
//     financial_system(_version), practice_management_system_refresh_date_time_zone. Items
//     are ordered by office_id, then practice_id.
//   - GET /v4/authorized_practices/{office_id}, with the same credentials and query: the
//     list envelope of that office's items; 401 API2007 for an office the caller may not see.
//   - GET /v4/practices (Request-Key): the key's office's practices in Sikka's /v4/practices
//     shape (name, address_line1, zipcode, cust_id, the *_href links…; no office_id, no
//     secret_key; fields=get_all adds country, national_provider_identifier, website,
//     is_main_office). Query: limit, offset, practice_id.
//
// Lists (both endpoints) use Sikka's envelope, every value a string: offset is a page index
// from 0, limit defaults to 50 and is lowered to 5000; the pagination links are absolute,
// "?offset=N&limit=M" on the request's path with every filter dropped; previous is "" on page
// 0 and next "" on the last page. A list with no item answers 204 No Content with no body
// (Sikka's API2005, recorded in the journal). The request key may also come as the
// request_key query parameter.
//
// # What Sikka leaves open in the practice lists, and the setting that picks it
//
//   - Which apps see the configured practices from the start (the Marketplace onboarding of
//     Sikka's Quickstart): DefaultAppID by default; WithOnboardedApps (config
//     "onboarded_apps", [] for none) names others. An onboarded app sees every configured
//     practice, those added later by AddPractice too. Any other app sees only the offices
//     that authorized it (the consent page's Allow, IssueCode, auto-approve, a request_key
//     grant); Reset forgets those authorizations.
//   - An empty list: 204 with no body (the default, as Sikka's table says) or, with
//     WithEmptyListOK (config "empty_list_ok"), 200 with "items":[]. A page past the last
//     one of a non-empty list is always 200 with "items":[] and total_count unchanged.
//   - The reply of GET /v4/authorized_practices/{office_id} (undocumented): the list
//     envelope of that office's items; an unknown office or one the caller may not see is
//     401 API2007 ("not authorized for this practice", Sikka's code). A fault on this route
//     is injected with Endpoint "*" (faults match the request path exactly).
//   - The filters' matching (undocumented): whole values, ignoring case; practice_id exactly.
//     A practice_id filter overrides show's default, so practice_id=2 finds practice 2
//     without show=all.
//   - The order (Sikka lists sort keys office_id and practice_id but no sort parameter):
//     office_id, then practice_id, each in natural order (digit runs compare as numbers:
//     "1" < "1-0" < "1-1" < "2" < "10"); no sort parameter is read.
//   - What a request key sees in authorized_practices (its scope is unstated): its own
//     office only.
//   - The values Sikka's examples name but do not explain: data_insert_date is when the
//     practice was configured, data_synchronization_date five minutes and
//     practice_management_system_refresh_date an hour before the mock clock's now (and
//     financial_system_refresh_date too when there is a financial system, else ""); in
//     /v4/practices, address_line2 and national_provider_identifier are "", description is
//     the name, country is "CA" for a Canadian province code and "US" otherwise,
//     is_main_office is "True" for practice "1", and each *_href is the absolute
//     /v4/<endpoint>?practice_id=<id>.
//   - GET /v4/request_key_info (Request-Key header, or request_key query as in a key's href).
//
// GET /v4/authorized_practices and /v4/practices count in the key's request_count;
// request_key_info does not. Times are UTC, written without a zone ("2026-02-10T04:00:28");
// expires_in is "<n> second(s)".
//
// # Statuses
//
// 400 for bad input: a body that is not a JSON object of strings (API1001), a missing field
// (API1002), a missing or unknown grant_type (API1003), an unknown, expired, used or
// other-app code (API1004), a bad limit or offset (API1005). 401 for bad credentials: request
// key (API2001: missing, unknown, expired or revoked, on every endpoint), app id/key
// (API2002), office id/secret key (API2003), refresh key (API2004: unknown, expired, used,
// revoked, or another app's). 404 unknown path (API4004), 405 with an Allow header (API4005),
// 413 over 64 KiB (API4013), 415 not JSON (API1006); injected faults use API9000; the admin
// API's 403 for a Host it does not answer is API4003. These codes
// are the mock's own: Sikka's real ones are unknown. Checks run in this order: body, grant_type,
// required fields, app credentials, then the grant's own credential.
//
// # Codes and keys
//
// Codes and keys are random hex from crypto/rand. A code is single-use even under concurrent
// exchanges, bound to the app it was issued for (another app's attempt leaves it intact), and
// expires after the code TTL (10m). A refresh key works until its request key's end time.
// The mock holds at most MaxLiveCodes (10000) unredeemed codes and MaxLiveKeys (10000) key
// pairs: one more forgets the oldest issued, which then fails like an unknown one. Issuing a
// code or a key also forgets every expired code and key, at most once per SweepInterval (1m)
// of the mock clock; what was forgotten stays unknown even if the clock is set back.
// With refresh-invalidates-old on (the default), a refresh revokes the old request key and
// makes the old refresh key single-use, so a client that keeps using the old pair fails; off,
// both stay usable until they expire. The request_key grant does not require a prior
// authorization; it records one.
//
// # Time
//
// Expiry follows the mock clock: real time plus Advance/SetTime offsets, or, with WithClock, a
// frozen clock moved only by Advance/SetTime. Fault delays are real time.
//
// # Admin API
//
// JSON in and out; errors in the same envelope (400 invalid, 404 unknown app or office, 409
// duplicate). Durations are Go duration strings. Admin calls are logged but not journaled, and
// faults never apply to them.
//
//	POST   /_mock/reset          (Content-Type: application/json, no body)
//	POST   /_mock/apps           App JSON                                  → 201
//	POST   /_mock/practices      Practice JSON                             → 201
//	PUT    /_mock/auto-approve   {"office_id":"D36225"} ("" disables)
//	GET    /_mock/faults         active faults, count = calls left
//	POST   /_mock/faults         Fault JSON, e.g. {"endpoint":"GET /v4/authorized_practices","count":1,"status":429,"retry_after":"1s"} → 201
//	DELETE /_mock/faults
//	GET    /_mock/journal        [Entry…], oldest first
//	DELETE /_mock/journal
//	GET    /_mock/count?endpoint=POST+/v4/request_key&grant=refresh_key → {"count":n}
//	GET    /_mock/clock          {"now":"RFC 3339"}
//	POST   /_mock/clock          {"advance":"25h"} or {"set":"2026-02-10T04:00:00Z"} → {"now":…}
//	GET    /_mock/settings       {"refresh_invalidates_old","key_ttl","code_ttl","auto_approve"}
//	PUT    /_mock/settings       any of those fields; absent ones unchanged
//	POST   /_mock/codes          {"app_id","office_id"} → 201 {"code":"…"}
//
// The admin API changes what the mock answers, so web pages are kept out of it:
//
//   - Every request under /_mock/ needs a loopback Host header (127.0.0.1 or another
//     127.x.x.x, [::1], localhost; any port) or one configured with WithAdminHosts
//     (Config.AdminHosts, the binary's -admin-host), else 403 API4003. This defeats DNS
//     rebinding: a page that points its own name at the mock's address still sends its own
//     name as Host. In docker-compose, reach the admin API through the published loopback
//     port, or start the mock with -admin-host mocksikka:8089. In-process, call the Go
//     methods (Reset, InjectFault, …), which need neither rule.
//
//   - Every POST, PUT and DELETE under /_mock/ needs Content-Type: application/json
//     (parameters such as charset allowed), also when it has no body (reset, DELETE), else
//     415 API1006 and nothing changes. A cross-site page can send text/plain, a form or no
//     body without asking the server, but application/json only after a CORS preflight,
//     which the mock never grants. With curl: -H 'Content-Type: application/json'.
//
//   - GET needs no Content-Type. The API routes above answer any Host and keep their own
//     rules.
//
// # Secrets
//
// The journal and the log never hold a code, request key, refresh key, secret key, app key or
// state: query values other than app_id, redirect_uri, office_id, practice_id, limit, offset,
// show and decision are masked, and bodies are never recorded.
package mocksikka
