#!/usr/bin/env bash
# scripts/walkthrough.sh: the README's walk through the mock Sikka, run as
# written. Starts the mock (go run ./cmd/mocksikka) in the background on a
# free loopback port, walks consent -> code -> request_key ->
# authorized_practices -> refresh -> expiry (admin clock) -> a fresh key from
# the practice's credentials with curl, checks each answer, and stops the mock
# on exit. Exits non-zero when any step does not answer as the README says.
# scripts/test.sh runs it.
#
# Needs bash, curl, sed and Go; no jq. Prints no key: the lines it prints
# are statuses and practice names.
#
# The block between the "walkthrough" markers is the README's, byte for byte
# (scripts/test.sh checks it): change both together.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
WORK=$(mktemp -d /tmp/sikka-walkthrough.XXXXXX)
MOCK_PID=""

fail() {
	echo "walkthrough: $*" >&2
	if [ -s "$WORK/mock.log" ]; then
		echo "walkthrough: the mock's log:" >&2
		cat "$WORK/mock.log" >&2
	fi
	exit 1
}

stop_mock() {
	local rc=$?
	if [ -n "$MOCK_PID" ] && kill -0 "$MOCK_PID" 2>/dev/null; then
		# go run and the mock it started share the job's process group.
		kill -TERM -- "-$MOCK_PID" 2>/dev/null || true
		wait "$MOCK_PID" 2>/dev/null || true
	fi
	rm -rf "$WORK"
	exit "$rc"
}
trap stop_mock EXIT
trap 'exit 130' INT TERM

# The mock in the background, in a process group of its own (set -m) so that
# stopping it stops both go run and the mock. Port 0: the kernel picks a free
# port; the mock prints its base URL as the first line of stdout.
set -m
go run ./cmd/mocksikka -addr 127.0.0.1:0 >"$WORK/url" 2>"$WORK/mock.log" &
MOCK_PID=$!
set +m

M=""
for _ in $(seq 1 1200); do # go run compiles first: up to 2 minutes on a cold cache
	if [ -s "$WORK/url" ]; then
		M=$(sed -n '1p' "$WORK/url")
		break
	fi
	kill -0 "$MOCK_PID" 2>/dev/null || fail "the mock exited before it listened"
	sleep 0.1
done
[ -n "$M" ] || fail "the mock printed no URL in 2 minutes"
echo "mock Sikka on $M"

# ---- walkthrough: the README shows these lines, scripts/walkthrough.sh runs them ----
APP=b0cac8c638d52c92f9c0312159fc4518 KEY=7beec2a9e62bd692eab2e0840b8bb2db CB=http://localhost:3000/callback
JSON='Content-Type: application/json'
field() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p"; } # a string field of a one-line JSON answer
# 1. the consent page (practice name, PMS, Allow/Deny)
PAGE=$(curl -fsS "$M/portal/authapp.aspx?app_id=$APP&redirect_uri=$CB&state=abc")
sed -n 's/.*id="practice_name">\([^<]*\)<.*/consent page: \1/p' <<<"$PAGE"
# 2. click Allow: 302 to $CB?code=…&state=abc
TO=$(curl -sS -o /dev/null -w '%{redirect_url}' -d app_id=$APP -d redirect_uri=$CB \
  -d state=abc -d office_id=D36225 -d decision=allow "$M/portal/authapp.aspx")
CODE=$(sed -n 's/.*[?&]code=\([^&]*\).*/\1/p' <<<"$TO")
# 3. exchange the code (single-use, 10 minutes) for a request key and a refresh key
ANSWER=$(curl -fsS -H "$JSON" "$M/v4/request_key" \
  -d "{\"grant_type\":\"authorization_code\",\"code\":\"$CODE\",\"app_id\":\"$APP\",\"app_key\":\"$KEY\"}")
RK=$(field request_key <<<"$ANSWER") REFRESH=$(field refresh_key <<<"$ANSWER")
# 4. the practice's credentials (office id and secret key)
PRACTICES=$(curl -fsS -H "Request-Key: $RK" "$M/v4/authorized_practices?show=all")
SECRET=$(field secret_key <<<"$PRACTICES")
echo "authorized: $(field practice_name <<<"$PRACTICES") ($(field practice_management_system <<<"$PRACTICES"))"
# 5. refresh before the key expires (24 h): a new request key and the same refresh key (it lives
#    until deleted); the old request key stops working (400 API1004)
ANSWER=$(curl -fsS -H "$JSON" "$M/v4/request_key" \
  -d "{\"grant_type\":\"refresh_key\",\"refresh_key\":\"$REFRESH\",\"app_id\":\"$APP\",\"app_key\":\"$KEY\"}")
OLD_RK=$RK RK=$(field request_key <<<"$ANSWER") REFRESHED=$(field refresh_key <<<"$ANSWER")
OLD=$(curl -sS -w ' %{http_code}' -H "Request-Key: $OLD_RK" "$M/v4/authorized_practices")  # body, then the status
NEW=$(curl -sS -o /dev/null -w '%{http_code}' -H "Request-Key: $RK" "$M/v4/authorized_practices")
echo "after the refresh: old key ${OLD##* } $(field error_code <<<"$OLD"), new key $NEW"
# 6. the admin API (JSON only): move the mock's clock 25 h on, and every request key has expired (400 API1025)
curl -fsS -o /dev/null -H "$JSON" -X POST -d '{"advance":"25h"}' "$M/_mock/clock"
EXPIRED=$(curl -sS -w ' %{http_code}' -H "Request-Key: $RK" "$M/v4/authorized_practices")
# 7. a fresh key from the stored practice credentials (what the library does when a refresh fails)
ANSWER=$(curl -fsS -H "$JSON" "$M/v4/request_key" \
  -d "{\"grant_type\":\"request_key\",\"office_id\":\"D36225\",\"secret_key\":\"$SECRET\",\"app_id\":\"$APP\",\"app_key\":\"$KEY\"}")
RK=$(field request_key <<<"$ANSWER")
FRESH=$(curl -sS -o /dev/null -w '%{http_code}' -H "Request-Key: $RK" "$M/v4/authorized_practices")
echo "25 h later: expired key ${EXPIRED##* } $(field error_code <<<"$EXPIRED"), fresh key $FRESH"
# how many key requests the mock received
curl -fsS -H "$JSON" "$M/_mock/count?endpoint=POST+/v4/request_key"
# ---- end of walkthrough ----

# The checks: each step answered as the README says.
grep -q 'id="practice_name">Happy Dental Clinic<' <<<"$PAGE" || fail "the consent page does not show Happy Dental Clinic"
[ -n "$CODE" ] || fail "Allow did not redirect to the callback with a code (got ${TO:-no redirect})"
case "$TO" in "$CB?"*"state=abc"*) ;; *) fail "Allow redirected to an unexpected URL" ;; esac
[ -n "$REFRESH" ] || fail "the code exchange returned no refresh key"
[ "$(field practice_name <<<"$PRACTICES")" = "Happy Dental Clinic" ] || fail "authorized_practices does not list Happy Dental Clinic"
[ -n "$SECRET" ] || fail "authorized_practices returned no secret key"
[ "$REFRESHED" = "$REFRESH" ] || fail "the refresh answered another refresh key, want the same one"
[ "${OLD##* } $(field error_code <<<"$OLD")" = "400 API1004" ] || fail "the old request key answered ${OLD##* } after the refresh, want 400 API1004"
[ "$NEW" = 200 ] || fail "the refreshed request key answered $NEW, want 200"
[ "${EXPIRED##* } $(field error_code <<<"$EXPIRED")" = "400 API1025" ] || fail "the request key answered ${EXPIRED##* } 25 h later, want 400 API1025"
[ "$FRESH" = 200 ] || fail "the key from the practice credentials answered $FRESH, want 200"
[ "$OLD_RK" != "$RK" ] || fail "the mock issued the same request key twice"
echo "walkthrough: every step answered as the README says"
