package sikka

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Sentinel errors for errors.Is. Every error a Client or DataClient method
// returns is an *Error. It matches at most one of ErrInvalidGrant,
// ErrUnauthorized, ErrRateLimited, ErrUnavailable, ErrNoSuchPractice and
// the data client's ErrSPUOffline, ErrNoSuchWriteback and
// ErrWritebackFailed, chosen by the HTTP status (and, for the last four,
// the call and Sikka's answer); ErrKeyRejected may match besides, chosen by
// the status and Sikka's error code (see it).
var (
	// ErrInvalidGrant: Sikka answered 400 to POST /v4/request_key: the
	// grant itself is malformed or spent, such as an unknown, expired or
	// already used authorization code, or a missing field. Retrying the same
	// call cannot succeed. Also returned, without a request, for an empty
	// code, refresh key, office id or secret key.
	ErrInvalidGrant = errors.New("sikka: invalid grant")

	// ErrUnauthorized: Sikka answered 401 or 403: a credential was refused,
	// such as an unknown, expired or revoked request key or refresh key, a
	// wrong office id or secret key, or a wrong app id or app key. Also
	// returned, without a request, for an empty request key.
	ErrUnauthorized = errors.New("sikka: unauthorized")

	// ErrKeyRejected: the request key a call sent is no good: get another
	// (RefreshKey, else RequestKey) rather than retry with it. It matches an
	// error of a call that sent a Request-Key header (RequestKeyInfo,
	// RevokeKey, AuthorizedPractices, every DataClient call) when Sikka
	// answered
	//   - 400 with error code API1004 (request key missing or invalid:
	//     Sikka's answer to an unknown or revoked key) or API1025 (request
	//     key expired), also when that envelope came in a 2xx answer; or
	//   - 401 or 403 (which match ErrUnauthorized as well);
	// and, without a request, an empty request key. It never matches an
	// error of a grant (ExchangeCode, RequestKey, RefreshKey), of
	// RevokeRefreshKey or of a call authenticated by the app id and key:
	// those send no request key.
	ErrKeyRejected = errors.New("sikka: request key rejected")

	// ErrNoSuchPractice: AuthorizedPractice found no practice of that office
	// id among those that authorized the app: Sikka answered 404, 401/403
	// with API2007 ("not authorized for this practice"), or no content
	// (204, or the API2005 envelope), or its answer did not list that
	// office. Also returned, without a request, for an empty office id
	// or one that cannot be a path segment ("." or "..").
	ErrNoSuchPractice = errors.New("sikka: no such authorized practice")

	// ErrRateLimited: Sikka answered 429 (after any retries).
	// Error.RetryAfter holds the wait Sikka asked for in Retry-After, and
	// Error.RateLimitReset the seconds its X-Rate-Limit-Reset said were left
	// in the rate window, when it said.
	ErrRateLimited = errors.New("sikka: rate limited")

	// ErrUnavailable: Sikka could not be reached or did not answer sensibly:
	// a 5xx or 408, a redirect (never followed), a transport failure (connection refused, DNS, TLS,
	// timeout, the caller's context ending), a body that is not JSON (a proxy's
	// HTML page), a response that lacks what the call needs, or a list that
	// never ends. Trying again later may succeed. When the caller's context
	// ended, context.Canceled or context.DeadlineExceeded matches as well;
	// an attempt that outlived the client's attempt timeout matches neither.
	ErrUnavailable = errors.New("sikka: unavailable")
)

// Envelope is Sikka's error body: these fields (the six of every error
// body, and the log_message of the documented 412) and nothing else of it
// (any other field is never read). Sikka sends every value as a string.
// Any secret the client sent in the failed request is replaced by
// "[REDACTED]" in these fields, should Sikka echo it, even in another
// letter case, URL-, JSON-, HTML- or base64-encoded, or in part (8
// consecutive characters or more); a field that held an escaped secret is
// kept decoded. Each field is cut to a limit (16 bytes for HTTPCode, 128
// for HTTPCodeDesc and ErrorCode, 512 for the messages), ending with "…"
// when cut.
type Envelope struct {
	// HTTPCode is http_code, such as "401" (a number on the wire reads the
	// same); the client classifies by the HTTP status, not by this.
	HTTPCode string
	// HTTPCodeDesc is http_code_desc, such as "Unauthorized".
	HTTPCodeDesc string
	// ErrorCode is error_code, such as "API1025". Match on the sentinels
	// where one fits (ErrKeyRejected reads API1004 and API1025); this is
	// for the rest, and for messages.
	ErrorCode string
	// ShortMessage, LongMessage and MoreInformation are Sikka's texts,
	// for people.
	ShortMessage    string
	LongMessage     string
	MoreInformation string
	// LogMessage is log_message, which Sikka's documented 412 API2017 body
	// carries instead of long_message ("Sikka platform utility is
	// offline"); empty in other answers.
	LogMessage string
}

// envelopeJSON is the wire form of Envelope: strings or numbers.
type envelopeJSON struct {
	HTTPCode        flexString `json:"http_code"`
	HTTPCodeDesc    flexString `json:"http_code_desc"`
	ErrorCode       flexString `json:"error_code"`
	ShortMessage    flexString `json:"short_message"`
	LongMessage     flexString `json:"long_message"`
	MoreInformation flexString `json:"more_information"`
	LogMessage      flexString `json:"log_message"`
}

func (ej envelopeJSON) envelope() Envelope {
	return Envelope{
		HTTPCode:        string(ej.HTTPCode),
		HTTPCodeDesc:    string(ej.HTTPCodeDesc),
		ErrorCode:       string(ej.ErrorCode),
		ShortMessage:    string(ej.ShortMessage),
		LongMessage:     string(ej.LongMessage),
		MoreInformation: string(ej.MoreInformation),
		LogMessage:      string(ej.LogMessage),
	}
}

// Error is the error of every Client method. Its Error text names the
// call, the endpoint, the status and Sikka's message, and never contains a
// secret (app key, code, secret key, request key, refresh key).
type Error struct {
	// Op is the Client method that failed, such as "ExchangeCode".
	Op string
	// Endpoint is the method and path called, such as
	// "POST /v4/request_key"; empty when no request was made.
	Endpoint string
	// StatusCode is the HTTP status Sikka answered with; 0 when there was
	// no HTTP response, or when a successful answer lacked what the call
	// asked for (AuthorizedPractice's ErrNoSuchPractice). A 2xx answer whose body is an error envelope with
	// an http_code of 400 or more is an error too, classified by that code.
	StatusCode int
	// Envelope is Sikka's error body, when it sent one.
	Envelope Envelope
	// RetryAfter is the wait Sikka asked for in Retry-After; 0 when absent.
	RetryAfter time.Duration
	// RateLimitReset is X-Rate-Limit-Reset of the error answer: how long
	// until Sikka's rate window ends (sent as seconds); 0 when absent or
	// unreadable. Sikka sends it on every answer; it matters on a 429
	// (ErrRateLimited), where the client waits it out before retrying when
	// there is no Retry-After.
	RateLimitReset time.Duration
	// Err is the underlying cause, when there is one: a transport error,
	// a context error, or why the response could not be read.
	Err error

	// kind is the sentinel this error matches, or nil.
	kind error
	// keyRejected makes the error match ErrKeyRejected as well.
	keyRejected bool
	// unsent is true when the request surely never left: no connection was
	// obtained and dialing failed.
	unsent bool
}

// Error implements error. The text never contains a secret.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("sikka: ")
	b.WriteString(e.Op)
	if e.Endpoint != "" {
		b.WriteString(": ")
		b.WriteString(e.Endpoint)
	}
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, ": %d %s", e.StatusCode, http.StatusText(e.StatusCode))
	}
	msg := e.Envelope.ShortMessage
	if msg == "" {
		msg = e.Envelope.LongMessage
	}
	if msg == "" && e.Envelope.HTTPCodeDesc != http.StatusText(e.StatusCode) {
		msg = e.Envelope.HTTPCodeDesc
	}
	if msg != "" {
		b.WriteString(": ")
		b.WriteString(msg)
	}
	if e.Envelope.ErrorCode != "" {
		fmt.Fprintf(&b, " (%s)", e.Envelope.ErrorCode)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the sentinel this error matches and the cause, so that
// errors.Is finds both (ErrUnavailable and context.Canceled, say).
func (e *Error) Unwrap() []error {
	errs := make([]error, 0, 3)
	if e.kind != nil {
		errs = append(errs, e.kind)
	}
	if e.keyRejected {
		errs = append(errs, ErrKeyRejected)
	}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}

// kindForStatus maps an HTTP status to its sentinel; grant tells whether
// the call was POST /v4/request_key, where 400 means an invalid grant.
func kindForStatus(status int, grant bool) error {
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return ErrUnauthorized
	case status == http.StatusTooManyRequests:
		return ErrRateLimited
	case status >= 500 || status == http.StatusRequestTimeout || (status >= 300 && status < 400):
		return ErrUnavailable
	case status == http.StatusBadRequest && grant:
		return ErrInvalidGrant
	}
	return nil
}

// keyRejection tells whether an answer with this HTTP status (the
// envelope's http_code for an envelope in a 2xx answer) and error code
// rejects the request key a call sent (ErrKeyRejected): 400 API1004 or
// API1025, or a 401/403 unless its code says the key is fine but the call
// is not allowed (API2004: not authorized for this API; API2007: not for
// this practice), which a new key would not change.
func keyRejection(status int, errorCode string) bool {
	code := strings.ToUpper(strings.TrimSpace(errorCode))
	switch status {
	case http.StatusUnauthorized, http.StatusForbidden:
		return code != codeAPINotAuthorized && code != codePracticeNotAuthorized
	case http.StatusBadRequest:
		return code == codeKeyInvalid || code == codeKeyExpired
	}
	return false
}

// Sikka's error codes the client reads (SIKKA_API.md, section 7).
const (
	codeKeyInvalid = "API1004" // 400: request key missing or invalid
	codeKeyExpired = "API1025" // 400: request key expired
	// 401: not authorized for this practice (AuthorizedPractice's ErrNoSuchPractice)
	codePracticeNotAuthorized = "API2007"
	// 401: not authorized for this API (the app's scope): not the key's fault
	codeAPINotAuthorized = "API2004"
)
