// Package conformance is a test suite, and nothing else: it states the facts of Sikka's own
// documentation (docs/SIKKA_API.md, sections 2, 3, 4, 5, 6, 7, 8 and 9) as Go tests that talk plain
// net/http to a base URL, so that they judge the wire itself and neither the mock nor the
// sikka client can grade its own homework.
//
// By default every test runs against a fresh in-process mock (mocksikka.New behind
// httptest.NewServer on 127.0.0.1) with its default app and DefaultOfficeID:
//
//	go test ./conformance/
//
// Against another server (the real Sikka, with sandbox credentials), set all five of
//
//	SIKKA_CONFORMANCE_URL         the base URL including /v4, e.g. https://api.sikkasoft.com/v4
//	SIKKA_CONFORMANCE_APP_ID      app_id
//	SIKKA_CONFORMANCE_APP_KEY     app_key
//	SIKKA_CONFORMANCE_OFFICE_ID   an office that has onboarded the app (authorized_practices)
//	SIKKA_CONFORMANCE_SECRET_KEY  that office's secret_key
//
// and run go test -count=1 -v ./conformance/. With the URL set and any other variable missing,
// every test fails and names the missing ones. Against such a server:
//
//   - destructive checks (DELETE request_key, DELETE refresh_key, the writeback that books an
//     appointment a year ahead and deletes a second one) skip unless
//     SIKKA_CONFORMANCE_DESTRUCTIVE=1: deleting a refresh key ends the session it belongs to,
//     and a writeback changes the practice's data;
//   - facts that need the mock's clock or settings (a key expiring after 24 h, the 429 over a
//     configured rate limit, the daily caps) and the mock's documented choices where Sikka is
//     silent (404 API2009 for an unknown path, 405 API2014) run only in-process and skip with
//     that reason: nothing here waits a day or hammers a real server;
//   - a 429 answered to an ordinary check is waited out once (at most 65 s, from
//     X-Rate-Limit-Reset), since Sikka's plans allow as few as 20 calls a minute.
//
// The suite makes a few dozen requests in all. No secret (app key, secret key, request or
// refresh key) is written to the test log: bodies shown on failure are scrubbed.
package conformance
