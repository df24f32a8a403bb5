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
//     No Sikka document describes this page or the authorization_code grant: they are the
//     original integration notes' assumption, kept for that flow. Sikka's documented path is
//     the Marketplace: the practice onboards, appears in authorized_practices, and keys come
//     from the request_key grant with its office_id and secret_key.
//   - POST /v4/request_key (Content-Type: application/json, else 415) with grant_type
//     request_key (office_id, secret_key, app_id, app_key), refresh_key (refresh_key, app_id,
//     app_key) or authorization_code (code, app_id, app_key). Every grant issues a new request
//     key valid for the key TTL (24h). request_key and authorization_code issue a new refresh
//     key; refresh_key answers with the same refresh key, which stays usable. Keys are 32 hex
//     characters; scope is a comma list starting "start,end,".
//   - DELETE /v4/request_key (the key as Request-Key header or request_key query) revokes
//     that request key; its refresh key keeps working. DELETE /v4/refresh_key (headers
//     Refresh-Key, App-Id, App-Key) deletes the refresh key; request keys issued with it keep
//     working until they expire. Both answer 200 with Sikka's envelope
//     {"http_code":"200","http_code_desc":"OK","error_code":"API0002","short_message":"OK",
//     "long_message":"Request Session terminated successfully.","more_information":""}.
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
//   - GET /v4/request_key_info (Request-Key header, or request_key query as in a key's href).
//   - The practice data endpoints (Request-Key), described under "Practice data" below.
//
// Lists (authorized_practices, practices and the data endpoints) use Sikka's envelope, every value a string: offset is a page index
// from 0, limit defaults to 50 and is lowered to 5000; the pagination links are absolute,
// "?offset=N&limit=M" on the request's path with every filter dropped; previous is "" on page
// 0 and next "" on the last page. A list with no item answers 204 No Content with no body
// (Sikka's API2005, recorded in the journal). The request key may also come as the
// request_key query parameter.
//
// # Practice data
//
// Each configured practice has a synthetic data set, made at its first use after New or Reset (so a
// test that reads no data pays nothing) from a seed (WithDataSeed, -data-seed; default
// DefaultDataSeed), the sizes (WithDataSize, -data-patients, -data-appointments; defaults 250
// patients and 600 appointments) and the mock clock's date as "today": the same seed and date give
// the same bytes. Patients (households share a guarantor, who is a patient), six or more active
// providers (dentists and hygienists) and an inactive one, operatories, appointments on business
// days around today (by default 75 days before to 25 after; see WithDataSize) between 08:00 and
// 17:00 (past ones mostly Completed, future ones Scheduled or Confirmed; never two in one operatory
// slot), a transaction per completed appointment and payments, claims for insured patients' recent
// visits, treatment plans, medical notes, payment types, insurance plan coverage, practice
// variables (the "Appointment Status" values appointments use) and a balance per patient. Every
// value is a string as Sikka sends it ("2026-02-10T00:00:00", "10:30", "24.0000", "True"), "" when
// empty; ids agree across endpoints. Names, e-mail addresses (example.com) and phone numbers (555)
// are invented.
//
// A fixture (DataFixture: WithDataFixture, -data-fixture FILE, config "data_fixtures", or POST
// /_mock/data until the next Reset) extends the data (rows with an existing id change the
// fields they give, others are added) or, with "replace":true, replaces it, so a test can put
// its own patients in. Unknown table or field names are refused, naming them.
//
// The data endpoints, GET with a Request-Key (header or request_key query), show the key's
// office only: practice_id selects one of its practices (all of them, one after the other,
// when absent; a practice_id the office does not have is 401 API2007):
//
//	patients                      patient_id guarantor_id provider_id firstname lastname email
//	                              cell phone homephone workphone status first_visit last_visit
//	                              search (a part of the name, e-mail, city, state, zip or phone)
//	providers                     provider_id provider_type firstname lastname
//	                              national_provider_identifier status is_user
//	operatories                   cust_id (required: 400 API1020 without it) is_hidden
//	appointments                  appointment_sr_no patient_id guarantor_id provider_id
//	                              procedure_code status operatory type arrival_status; dates
//	appointments_available_slots  provider_id operatory startdate enddate (default today and
//	                              the 6 days after, at most 31 days): the free half hours of
//	                              each active provider with a free operatory
//	transactions                  transaction_sr_no claim_sr_no patient_id guarantor_id
//	                              provider_id procedure_code transaction_type payment_type
//	                              invoice_number payment_procedure_link_id; dates
//	claims                        claim_sr_no claim_status claim_status_2 claim_tag patient_id
//	                              guarantor_id provider_id; dates
//	payment_types                 code customer_id, and is_adjustment_type,
//	                              is_debit_adjustment_type, is_insurance_type,
//	                              are_credit_card_details_required (only "true")
//	patient_balance               patient_id customer_id
//	treatment_plans               treatment_plan_sr_no procedure_code treatment_plan_status
//	                              claim_sr_no patient_id guarantor_id provider_id; dates
//	insurance_plan_coverage       insurance_company_id
//	medical_notes                 patient_id note_type; dates
//	practice_variables            service_name service_item
//	practice_events               events (required), interval, loaded_startdate, loaded_enddate
//
// Items carry Sikka's default fields in the order of its examples; fields=a,b adds fields,
// fields=get_all gives every documented field, lightweight=true&fields=a,b only a and b; an
// unknown field name is 400 API1026 naming it. Filters compare whole values ignoring case (a
// date yyyy-mm-dd matches that day's timestamps); several filters must all hold; parameters
// an endpoint does not document are ignored, as Sikka's clients send extra ones; find (RQL)
// answers 501 MOCK5001. "dates" are startdate and
// enddate (yyyy-mm-dd, inclusive) on the field date_filter_on names, whose first documented
// value is the default (appointments: date; transactions: transaction_date; claims:
// claim_sent_date; treatment_plans: procedure_date; medical_notes: date); another value, or a
// malformed date, is 400 API1026. Rows are listed in id order. Each href is an absolute link
// on the mock that finds the item or its relative: /v4/patients?patient_id=…&practice_id=…
// (guarantor_href, insurance_company_href and a few more point to endpoints the mock does not
// implement). patients, appointments, transactions and treatment_plans answer Data-Insert:
// completed.
//
// practice_events lists the changes writebacks made (none until one completes) of one kind of
// record (events: patients, appointments, transactions, claims, treatment_plans or providers;
// the other documented kinds have none, 204): the record's fields as its endpoint gives them
// (for appointments exactly Sikka's example), loadeddate (the mock clock's time of the change),
// flag ("inserted" for a new record, "updated" for a change) and changes
// [{"field","old_value","new_value"}], timestamps in them written "4/1/2016 12:00:00 AM".
// interval (minutes, 1 to 1440) keeps the changes of the last interval minutes and overrides
// loaded_startdate and loaded_enddate (yyyy-mm-dd, whole days, or yyyy-MM-ddTHH:mm:ss).
// Loading a fixture records no event.
//
// Every other data endpoint Sikka documents (section 5 of docs/SIKKA_API.md, "Remaining":
// guarantors, procedure_codes, insurance_companies, payment/*, finance/*, POST practice_query…)
// answers 501 MOCK5001 "Not implemented by the mock", so that it is told apart from a path
// Sikka does not have (404 API2009).
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
//
// GET /v4/authorized_practices, /v4/practices and the data endpoints count in the key's
// request_count; request_key_info does not. Times are UTC, written without a zone
// ("2026-02-10T04:00:28"); expires_in is "<n> second(s)".
//
// Header names are case-insensitive. Wherever a request key is taken (every route above but
// POST /v4/request_key, DELETE /v4/refresh_key and the consent page; authorized_practices
// also takes App-Id and App-Key), it may come as the Request-Key header or the request_key
// query parameter, and every answer about a known key carries Request-Key-Expires (RFC 1123,
// GMT): the key's end time, which is start + 24h with the default TTL, and stays end_time
// once the key has expired.
//
// # Statuses and codes
//
// Errors use Sikka's envelope, every value a string: http_code, http_code_desc,
// error_code, short_message, long_message, more_information. http_code_desc is spelled as
// Sikka documents it ("BadRequest", "Unauthorized", "NotFound", "UnsupportedMediaType",
// "Too Many Requests", "Method Not Allowed", …); statuses Sikka does not list use Go's status
// text without spaces ("Forbidden", "RequestEntityTooLarge"). Codes named API… are Sikka's
// documented ones, each used only for its documented meaning:
//
//	API0002 200 DELETE request_key / refresh_key: session terminated
//	API1001 400 app_id (App-Id) missing
//	API1002 400 app_key (App-Key) missing
//	API1004 400 request key missing, unknown or revoked ("Requestkey is missing." /
//	            "Requestkey is missing/invalid")
//	API1005 400 secret_key missing
//	API1006 415 the body is not application/json
//	API1020 400 another required parameter missing (grant_type, office_id, refresh_key,
//	            code, Refresh-Key; practice_events' events, operatories' cust_id)
//	API1025 400 request key expired
//	API1026 400 invalid parameter: a body that is not a JSON object of strings, an unknown
//	            grant_type, an unknown, expired, used or other-app authorization code, a bad
//	            limit or offset; a data endpoint's unknown field name, bad date,
//	            date_filter_on, events or interval; admin: an invalid value
//	API2003 401 app_id/app_key, office_id/secret_key or refresh key incorrect (unknown,
//	            deleted, or another app's): "Authentication/Authorization Failed" /
//	            "ID or key is incorrect."
//	API2005 204 a list with no item, also when filters match nothing (no body; the journal
//	            records the code)
//	API2007 401 authorized_practices/{office_id}: an office the caller may not see; a data
//	            endpoint's practice_id that is not a practice of the key's office
//	API2009 404 no endpoint at this path (Sikka's real answer to an unknown path is not
//	            documented); admin: unknown app or office
//	API2011 429 the practice's daily data cap is used up (when configured)
//	API2012 429 the practice's daily request cap is used up (when configured)
//	API2013 409 admin: already exists
//	API2014 405 the path exists, the method does not (with an Allow header)
//
// Codes named MOCK… are the mock's own, for answers Sikka does not document:
//
//	MOCK4003 403 admin API: a Host neither loopback nor configured
//	MOCK4013 413 a body over MaxBodyBytes (64 KiB)
//	MOCK4029 429 the app's calls for the 60 s window are used up (Sikka's 429 body is
//	             undocumented)
//	MOCK5001 501 a documented Sikka endpoint (or find, RQL) the mock does not implement
//	MOCK9000 any status injected by a Fault
//
// Checks run in this order: route (404, 405), body size, rate limit, injected fault, then the
// request key where the route takes one, then the handler: body, grant_type, required fields,
// app credentials, then the grant's own credential.
//
// # Rate limits and compression
//
// Every answer of the API (a 204 too; not the consent page, not /_mock/) carries
// X-Rate-Limit-Limit, X-Rate-Limit-Remaining and X-Rate-Limit-Reset (seconds until the
// window ends). Each app
// (that of the request key, else the App-Id header, else the body's app_id; calls naming no
// registered app share one count) may make WithRateLimit calls per 60 s window of the mock
// clock; one more answers 429 MOCK4029 with Remaining 0. Off by default: the limit is then
// UnlimitedRate. WithDailyLimits caps, per office and UTC day of the mock clock, the calls
// made with a request key (429 API2012 past it) and the bytes of their answers (429 API2011
// once reached); off by default. An injected 429 fault carries the same headers with
// Remaining 0. An API answer with a body is gzip-compressed (Content-Encoding: gzip) when
// the request's Accept-Encoding allows gzip, as Sikka's clients send "gzip,compress".
//
// # What Sikka leaves open
//
// Where Sikka's documentation is silent (section 12 of docs/SIKKA_API.md), the mock picks:
//
//   - whether a refresh revokes the old request key: yes by default; setting
//     refresh-invalidates-old (WithRefreshInvalidatesOld, -refresh-invalidates-old,
//     refresh_invalidates_old in the config file and /_mock/settings). Off, the old key
//     works until it expires.
//   - whether a refresh returns a new refresh_key: no, the same one, usable again (fixed).
//   - what DELETE request_key does to the refresh key, and DELETE refresh_key to the request
//     key: nothing (fixed).
//   - the timestamp zone: UTC, written without a zone (fixed).
//   - the reply to an unknown path: 404 API2009 (fixed).
//   - per-plan rate numbers and the 429 body: WithRateLimit (-rate-limit, rate_limit),
//     default off; the body is MOCK4029. The daily caps' units (calls, bytes):
//     WithDailyLimits (daily_request_limit, daily_data_limit), default off.
//   - ?request_key= acceptance: accepted wherever the header is (fixed).
//   - how long an expired key answers "expired" (API1025) rather than unknown (API1004):
//     ExpiredKeyMemory, 7 days (fixed).
//
// # Codes and keys
//
// Codes and keys are random hex from crypto/rand. A code is single-use even under concurrent
// exchanges, bound to the app it was issued for (another app's attempt leaves it intact), and
// expires after the code TTL (10m). A request key lives for the key TTL (24h); a refresh key
// lives until it is deleted and can be exchanged any number of times. The mock holds at most
// MaxLiveCodes (10000) unredeemed codes, MaxLiveKeys (10000) request keys and as many refresh
// keys: one more forgets the oldest issued, which then fails like an unknown one. Issuing a
// code or a key also forgets every expired code, and every request key expired for more than
// ExpiredKeyMemory, at most once per SweepInterval (1m) of the mock clock; what was forgotten
// stays unknown even if the clock is set back. The request_key grant does not require a prior
// authorization; it records one.
//
// # Time
//
// Expiry follows the mock clock: real time plus Advance/SetTime offsets, or, with WithClock, a
// frozen clock moved only by Advance/SetTime. Fault delays are real time.
//
// # Admin API
//
// JSON in and out; errors in the same envelope (400 API1026 invalid, 404 API2009 unknown app
// or office, 409 API2013 duplicate). Durations are Go duration strings. Admin calls are logged but not journaled, and
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
//	GET    /_mock/settings       {"refresh_invalidates_old","key_ttl","code_ttl","auto_approve",
//	                              "rate_limit","daily_request_limit","daily_data_limit"}
//	PUT    /_mock/settings       any of those fields; absent ones unchanged
//	POST   /_mock/codes          {"app_id","office_id"} → 201 {"code":"…"}
//	GET    /_mock/spu            [{"office_id","online"}…] (SetSPUOnline, SPUs)
//	POST   /_mock/spu            {"office_id":"D36225","online":false} → {"office_id","online"}
//	POST   /_mock/data           DataFixture JSON, e.g. {"office_id":"D36225","practice_id":"1",
//	                              "replace":false,"patients":[{"patient_id":"900001","firstname":"Test"}]}
//	                              → {"<table>":rows…} (LoadData); until the next Reset
//
// The admin API changes what the mock answers, so web pages are kept out of it:
//
//   - Every request under /_mock/ needs a loopback Host header (127.0.0.1 or another
//     127.x.x.x, [::1], localhost; any port) or one configured with WithAdminHosts
//     (Config.AdminHosts, the binary's -admin-host), else 403 MOCK4003. This defeats DNS
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
