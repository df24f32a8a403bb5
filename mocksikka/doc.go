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
// # Writebacks
//
// Writebacks (Request-Key; JSON body with Content-Type: application/json, else 415 API1006)
// change the practice data asynchronously, as the SPU on the practice's server does them:
//
//   - POST /v4/appointment, PATCH and PUT /v4/appointments/{appointment_sr_no}, POST
//     /v4/patient, PATCH /v4/patient/{patient_id}, PATCH /v4/claims/{claim_sr_no}, POST
//     /v4/claim_payment, POST /v4/medical_notes, POST /v4/transaction. The other documented
//     writebacks (veterinary_patient, document, lab_result, perio_chart) and GET
//     writeback_details answer 501 MOCK5001.
//   - The body's fields are those of Sikka's examples (docs/sikka_fields.json,
//     "writeback_bodies"); values are strings (numbers and booleans are taken as their text);
//     practice_id defaults to "1" and must be a practice of the key's office (else 401
//     API2007); check_spu is true or false. The mock requires: appointment patient_id, date
//     (yyyy-mm-dd), time (HH:mm), length (minutes), operatory, provider_id; PATCH appointments
//     op "replace", path "/appointment_status", value (an "Appointment Status" of
//     practice_variables, any case); PUT appointments and PATCH patient/claims at least one
//     field to change; patient firstname, lastname; claim_payment claim_sr_no, payment_amount;
//     medical_notes patient_id, text; transaction patient_id, amount.
//   - Refusals, at once: an unknown body field or a malformed value (a date, time, length,
//     amount, status, op, path, check_spu) 400 API1026; a missing or empty required field 400
//     API1020; a patient, provider, operatory, guarantor, claim, transaction or payment type
//     the body names that does not exist 400 API1026; the appointment, patient or claim of the
//     path that does not exist 404 API2009; check_spu=true while the office's SPU is offline
//     412 exactly as Sikka documents it: {"http_code":"412","http_code_desc":"Preconditon
//     Failed","error_code":"API2017","short_message":"The server does not meet one of the
//     preconditions that the requester put on the request.","log_message":"Sikka platform
//     utility is offline","more_information":"--"}.
//   - Accepted: a POST answers 201 {"http_code":"201","http_code_desc":"Created",
//     "error_code":"API2016","short_message":"New resource created successfully",
//     "long_message":"Id:N","more_information":"<base>/v4/writeback_status?id=N"}; an update
//     answers 200 in the same shape with API0007 "Appointment status logged successfully"
//     (PATCH and PUT appointments, as Sikka's example), API0011 "Patient details logged
//     successfully" (PATCH patient) or API0009 "Claim details logged successfully" (PATCH
//     claims); the texts of API0011 and API0009 are the mock's, Sikka gives only the codes.
//     Updates are asynchronous too: pending until the SPU processes them, like a POST. Ids
//     count from 275001 (Reset starts again).
//   - Processing: a writeback is pending until its office's SPU is online and the writeback
//     delay (WithWritebackDelay, -writeback-delay, writeback_delay in the config file and
//     /_mock/settings; default DefaultWritebackDelay, 30 s of the mock clock; 0 at once) has
//     passed since the request; a writeback whose SPU was offline is processed as soon as the
//     SPU is back if its delay has passed. Pending writebacks are processed in the order they
//     were requested, by the clock's scheduler (on Advance, SetTime, before each request, and
//     by a timer when the clock is real). The SPU then fails it when a fail rule matches
//     (POST /_mock/writebacks/fail-rules, FailWritebacks), when a booking, a move (POST, PUT
//     appointments) or a cancelled appointment's new status (PATCH) would double-book its
//     operatory at processing time ("Appointment not
//     booked: operatory OP-1 is already booked at 09:30 on 2026-05-21 (appointment_sr_no
//     …)."), or when its record no longer exists; otherwise it applies the change: the new
//     appointment, patient, medical note or transaction (a claim payment updates the claim,
//     status "C", and adds an "Insurance Payment" transaction), visible in the data endpoints
//     and practice_events, and announced to webhooks. Results read "Appointment booked
//     successfully", "Appointment status updated successfully", "Appointment updated
//     successfully", "New Patient inserted successfully" (Sikka's example), "Patient updated
//     successfully", "Claim updated successfully", "Claim payment inserted successfully",
//     "Medical note inserted successfully", "Transaction inserted successfully".
//   - GET /v4/writeback_status?id=N (Request-Key; id required, 400 API1020, a positive number,
//     400 API1026): the array-wrapped list envelope [{"offset",…,"items":[…]}] with one item
//     of the key's office (204 for an unknown id or another office's): id, office_id, method,
//     api ("appointment", "appointments", "patient", "claims", "claim_payment",
//     "medical_notes", "transaction"), payload_body (the body as sent; card_number masked to
//     its last 4 digits, cvv "***"), appointment_sr_no, request_time, is_completed, has_error
//     ("True"/"False"), completed_time ("" while pending), result ("" while pending),
//     practice_id, status ("Pending", "Success", "Failed"), patient_id, created_id (the new
//     record's id). Times read "2020-12-04 13:51:34" (UTC).
//   - GET /v4/writebacks (App-Id and App-Key; 400 API1001/API1002 when missing, 401 API2003
//     when wrong) with startdate and enddate (yyyy-mm-dd, required: 400 API1020; enddate from
//     startdate to 7 days after it, else 400 API1026) and optional id: the list envelope of
//     the app's writebacks requested on those days (204 when none), in id order; items href
//     (<base>/v4/writebacks?id=N), description (what it does: "Book a new appointment",
//     "Insert a new patient", …), id, result ("pending" while pending),
//     office_id, method, completed_time, api_name, api_request_body, command_time,
//     duration_in_second ("" while pending).
//   - DELETE /v4/writebacks?id=N (App-Id and App-Key): a pending writeback of the app is
//     dropped, never to be applied, 200 {"http_code":"200","http_code_desc":"OK",
//     "error_code":"API4006","short_message":"","long_message":"Writeback request deleted
//     successfully.","more_information":""}; one already processed 400 API1026; an unknown id
//     or another app's 404 API2009.
//   - The mock keeps at most MaxWritebacks (10000) writebacks and MaxWritebackBytes (64 MiB)
//     of their bodies: one more forgets the oldest processed ones; when only pending ones are
//     left a writeback is refused with 503 API2002. Reset forgets them all and the fail rules,
//     and puts the delay back.
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
//	API0007 200 PATCH/PUT appointments accepted: "Appointment status logged successfully"
//	API0009 200 PATCH claims accepted
//	API0011 200 PATCH patient accepted
//	API1001 400 app_id (App-Id) missing
//	API1002 400 app_key (App-Key) missing
//	API1004 400 request key missing, unknown or revoked ("Requestkey is missing." /
//	            "Requestkey is missing/invalid")
//	API1005 400 secret_key missing
//	API1006 415 the body is not application/json
//	API1020 400 another required parameter missing (grant_type, office_id, refresh_key,
//	            code, Refresh-Key; a writeback's required field, writeback_status's id,
//	            writebacks' startdate/enddate/id; practice_events' events, operatories'
//	            cust_id)
//	API1025 400 request key expired
//	API1026 400 invalid parameter: a body that is not a JSON object of strings, an unknown
//	            grant_type, an unknown, expired, used or other-app authorization code, a bad
//	            limit or offset; a data endpoint's unknown field name, bad date,
//	            date_filter_on, events or interval; a writeback's unknown field, malformed
//	            value or unknown record named in its body, a writebacks date range over 7
//	            days, DELETE of a writeback no longer pending; admin: an invalid value
//	API2002 503 a writeback while MaxWritebacks writebacks are pending
//	API2003 401 app_id/app_key, office_id/secret_key or refresh key incorrect (unknown,
//	            deleted, or another app's): "Authentication/Authorization Failed" /
//	            "ID or key is incorrect."
//	API2005 204 a list with no item, also when filters match nothing (no body; the journal
//	            records the code)
//	API2007 401 authorized_practices/{office_id}: an office the caller may not see; a data
//	            endpoint's or a writeback's practice_id that is not a practice of the key's
//	            office
//	API2009 404 no endpoint at this path (Sikka's real answer to an unknown path is not
//	            documented); a writeback's appointment, patient or claim (path) or an
//	            unknown writeback id (DELETE writebacks); admin: unknown app, office or
//	            webhook
//	API2011 429 the practice's daily data cap is used up (when configured)
//	API2012 429 the practice's daily request cap is used up (when configured)
//	API2013 409 admin: already exists
//	API2014 405 the path exists, the method does not (with an Allow header)
//	API2016 201 a writeback accepted ("Id:N", more_information the writeback_status URL)
//	API2017 412 a writeback with check_spu=true while the office's SPU is offline
//	API4006 200 DELETE writebacks: a pending writeback deleted
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
// app credentials, then the grant's own credential. A writeback's handler checks the content
// type, the body, unknown fields, required fields, the practice, the values and the records
// they name, and last check_spu against the SPU.
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
//   - the timestamp zone: UTC, written without a zone (fixed); but Data_Refresh, whose body
//     gives utc_difference_in_minutes, writes the practice's local time.
//   - the reply to an unknown path: 404 API2009 (fixed).
//   - per-plan rate numbers and the 429 body: WithRateLimit (-rate-limit, rate_limit),
//     default off; the body is MOCK4029. The daily caps' units (calls, bytes):
//     WithDailyLimits (daily_request_limit, daily_data_limit), default off.
//   - ?request_key= acceptance: accepted wherever the header is (fixed).
//   - how long an expired key answers "expired" (API1025) rather than unknown (API1004):
//     ExpiredKeyMemory, 7 days (fixed).
//   - webhook retry timing: 1m, 5m, 15m, 30m, 1h (WithWebhookRetryIntervals, -webhook-retry,
//     webhook_retry_intervals, /_mock/webhooks/settings); the callback key's origin: each
//     target is given its key (Webhook.Key, -webhook-key).
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
// # Webhooks
//
// The mock sends Sikka's webhooks: a JSON POST with headers callback-key (the target's key)
// and Content-Type: application/json to each target of an app (WithWebhooks, the binary's
// -webhook-url and -webhook-key, config "webhooks", POST /_mock/webhooks), for the offices
// the app sees in authorized_practices (an onboarded app, such as the default one: every
// configured office).
//
//   - Data_Refresh, exactly the fields, order and types of Sikka's example ("practice_id" a
//     number, every other value a string), from the practice's settings: PMS name and version,
//     time zone, difference_in_minutes as utc_difference_in_minutes, cust_id as customer_id
//     ("1" when empty). Every *_date is the refresh's time, prev_generated_time the practice's
//     previous Data_Refresh (at first, when the schedule started), next_data_synchronization_date
//     the next tick ("" when the schedule is off); financial_system_refresh_date is
//     "1111-11-11" without a financial system, as in Sikka's example; spc_schedule_type is
//     "Daily", spc_schedule_time the time of day the schedule started, spc_schedule_interval
//     "25 Minutes" (or "N Seconds"). Its times are the practice's local time, written
//     "2019-12-09 14:37:56": UTC minus utc_difference_in_minutes (Sikka's example pairs 240 with
//     Eastern time), so that a reader applying the offset gets the mock clock's instant. A
//     practice id that is not a whole number ("1-0") is sent as a string.
//   - patient, transaction and appointments: the fields of Sikka's patient example (Sikka shows
//     no other; the same shape is assumed), generated_time the change's time. They carry no
//     offset, and their times are UTC, as everywhere else in the mock.
//   - When: Data_Refresh every data refresh interval of the mock clock (25m by default,
//     WithDataRefreshInterval, -data-refresh-interval; 0 off) for every practice; the data
//     events when the data changes (a completed writeback); any event on demand with
//     TriggerWebhook or POST /_mock/webhooks/trigger.
//   - Retries: 200, 201, 202 and 204 are success; any other status (a 3xx is never followed),
//     a connection error or no answer within the timeout (10s of real time; WithWebhookTimeout,
//     -webhook-timeout) is a failure, retried up to 5 times after 1m, 5m, 15m, 30m and 1h of
//     the mock clock (Sikka does not state the waits; WithWebhookRetryIntervals,
//     -webhook-retry). When the 5th retry fails the target becomes inactive: its waiting
//     deliveries are dropped and it receives nothing until ReactivateWebhook (POST
//     /_mock/webhooks/reactivate).
//   - SPU offline: nothing of the office is sent; its deliveries wait ("held") and go out when
//     the SPU is back; scheduled Data_Refresh ticks skip the office (no refresh ran).
//   - Every delivery and attempt is listed by WebhookDeliveries (GET
//     /_mock/webhooks/deliveries) and logged ("mocksikka webhook"); at most MaxWebhookSends
//     (4) are in flight and MaxWebhookQueue (1000) wait. Close cancels what is in flight and
//     sends nothing more: call it when done with a mock that has webhook targets.
//
// # Time
//
// Expiry follows the mock clock: real time plus Advance/SetTime offsets, or, with WithClock, a
// frozen clock moved only by Advance/SetTime. Fault delays and webhook timeouts are real time.
//
// # Admin API
//
// JSON in and out; errors in the same envelope (400 API1026 invalid, 404 API2009 unknown app,
// office or webhook, 409 API2013 duplicate). Durations are Go duration strings. Admin calls are logged but not journaled, and
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
//	                              "rate_limit","daily_request_limit","daily_data_limit",
//	                              "writeback_delay"}
//	PUT    /_mock/settings       any of those fields; absent ones unchanged
//	POST   /_mock/codes          {"app_id","office_id"} → 201 {"code":"…"}
//	GET    /_mock/spu            [{"office_id","online"}…] (SetSPUOnline, SPUs)
//	POST   /_mock/spu            {"office_id":"D36225","online":false} → {"office_id","online"}
//	GET    /_mock/webhooks       [{"id","app_id","url","events","active"}…] (no callback key)
//	POST   /_mock/webhooks       {"app_id","url","callback_key","events"} → 201 (app_id: default
//	                              the first app; events: default all four)
//	DELETE /_mock/webhooks       {"id":"1"}; {} removes every target
//	POST   /_mock/webhooks/reactivate {"id":"1"}; {} every target → the targets
//	POST   /_mock/webhooks/trigger    {"event":"Data_Refresh","office_id":"D36225"} (practice_id
//	                              optional: default every practice) → 202 [delivery…]
//	GET    /_mock/webhooks/deliveries [delivery…], oldest first: id, webhook_id, event,
//	                              office_id, practice_id, raised, state, reason, next_attempt,
//	                              attempts [{time,status,error}], payload
//	GET    /_mock/webhooks/settings   {"data_refresh_interval","retry_intervals","timeout"}
//	PUT    /_mock/webhooks/settings   any of those fields; absent ones unchanged
//	GET    /_mock/writebacks/fail-rules   [WritebackFailRule…], count = writebacks left to fail
//	POST   /_mock/writebacks/fail-rules   {"endpoint":"POST /v4/appointment","count":2,"result":"…"}
//	                                      ("*" any writeback; office_id optional) → 201 the rules
//	DELETE /_mock/writebacks/fail-rules
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
// The journal and the log never hold a code, request key, refresh key, secret key, app key,
// webhook callback key or state: query values other than app_id, redirect_uri, office_id,
// practice_id, limit, offset, show and decision are masked, and bodies are never recorded.
// A webhook's callback key appears in no answer of the admin API either, and target URLs are
// shown with their query values and password masked.
package mocksikka
