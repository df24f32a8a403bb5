package middleware

import (
	"errors"
	"strings"
	"time"

	"github.com/parlae/sikka-connect/integration"
)

// The values of the status query parameter of the callback's redirect to the
// frontend.
const (
	StatusSuccess   = "success"
	StatusCancelled = "cancelled"
	StatusError     = "error"
)

// The values of the reason query parameter, present only with
// status=error.
const (
	// ReasonInvalidCode: Sikka refused the code, or listed no practice for
	// it, or redirected back with an error other than access_denied.
	ReasonInvalidCode = "invalid_code"
	// ReasonInvalidState: the callback was refused before any code was
	// spent (see the ErrState… and ErrCallback… errors).
	ReasonInvalidState = "invalid_state"
	// ReasonAlreadyConnected: another account holds the practice.
	ReasonAlreadyConnected = "already_connected"
	// ReasonProviderUnavailable: Sikka did not answer usefully; nothing was
	// stored.
	ReasonProviderUnavailable = "provider_unavailable"
	// ReasonInternal: a failure on this side (store, database); the log has
	// the cause.
	ReasonInternal = "internal"

	// The reasons of a connect by office id (POST {prefix}/connect) only.

	// ReasonNotAuthorized: Sikka does not list the office among the
	// practices that authorized the app (not onboarded on the Marketplace,
	// or a wrong office id).
	ReasonNotAuthorized = "not_authorized"
	// ReasonInvalidCredentials: the proof of ownership (by default the
	// practice's secret key) was refused.
	ReasonInvalidCredentials = "invalid_credentials"
	// ReasonTooManyAttempts: too many refused attempts (wrong keys, offices
	// not listed) for the account or the office lately (integration.ErrTooManyAttempts); try again later.
	ReasonTooManyAttempts = "too_many_attempts"
)

// Outcome is how one callback ended: what the browser was told (Status,
// Reason) and why (Err). Hooks.Finished receives it.
type Outcome struct {
	// Status is StatusSuccess, StatusCancelled or StatusError.
	Status string
	// Reason is one of the Reason… values with StatusError, else "".
	Reason string
	// Err is the cause of a StatusError, matched with errors.Is against
	// this package's ErrState…, ErrCallback…, ErrCodeMissing, ErrNotSignedIn,
	// ErrProviderDenied and the integration package's errors. It is nil for
	// success and cancel, and never carries a code, state, nonce or key.
	Err error
	// AccountID is the signed-in account, else (nobody is signed in) the
	// account of the state if it verified, else "".
	AccountID string
	// Record is the connected integration, on success.
	Record integration.Record
	// Duration is how long the callback took.
	Duration time.Duration
}

// Message returns the text the frontend shows for an outcome, given the
// status and reason query values of the redirect. Unknown values get the
// internal-error text. For success it is the short "Successfully
// connected."; with the practice known (from the status route),
// SuccessMessage says more. For not_authorized it names the app "this app";
// MessageFor names it.
func Message(status, reason string) string { return MessageFor("this app", status, reason) }

// MessageFor is Message naming the app (its name on the Sikka Marketplace,
// such as "Parlae") where a text mentions it: "This practice has not
// authorized Parlae on Sikka yet."
func MessageFor(appName, status, reason string) string {
	switch status {
	case StatusSuccess:
		return "Successfully connected."
	case StatusCancelled:
		return "Authorization cancelled. You can try again anytime."
	}
	switch reason {
	case ReasonInvalidCode:
		return "Authorization failed. Please try again or contact support."
	case ReasonInvalidState:
		return "This authorization link has expired or was already used. Please start again."
	case ReasonAlreadyConnected:
		return "This practice is already connected to another account."
	case ReasonProviderUnavailable:
		return "Sikka is not responding right now. Please try again in a few minutes."
	case ReasonNotAuthorized:
		return "This practice has not authorized " + appName + " on Sikka yet."
	case ReasonInvalidCredentials:
		return "The office ID or secret key is not correct."
	case ReasonTooManyAttempts:
		return "Too many attempts. Please try again later."
	}
	return "Something went wrong on our side. Please try again or contact support."
}

// SuccessMessage returns "Successfully connected to {practice} ({pms})", as
// in "Successfully connected to Happy Dental Clinic (Dentrix)"; without a
// PMS, "Successfully connected to {practice}"; without a practice,
// Message(StatusSuccess, "").
func SuccessMessage(practice, pms string) string {
	if practice == "" {
		return Message(StatusSuccess, "")
	}
	return "Successfully connected to " + practiceLabel(practice, pms)
}

func practiceLabel(practice, pms string) string {
	if pms == "" {
		return practice
	}
	return practice + " (" + pms + ")"
}

// connectReason maps an error of integration.Service.Connect or
// ConnectOffice to a reason.
func connectReason(err error) string {
	switch {
	case errors.Is(err, integration.ErrOfficeNotAuthorized):
		return ReasonNotAuthorized
	case errors.Is(err, integration.ErrInvalidProof):
		return ReasonInvalidCredentials
	case errors.Is(err, integration.ErrTooManyAttempts):
		return ReasonTooManyAttempts
	case errors.Is(err, integration.ErrInvalidCode), errors.Is(err, integration.ErrNoAuthorizedPractice):
		return ReasonInvalidCode
	case errors.Is(err, integration.ErrAlreadyConnected):
		return ReasonAlreadyConnected
	case errors.Is(err, integration.ErrProviderUnavailable):
		return ReasonProviderUnavailable
	}
	return ReasonInternal
}

// providerErrorReason maps the error parameter Sikka sent back (other than
// access_denied) to a reason: OAuth's server_error and
// temporarily_unavailable mean Sikka is unavailable; anything else is a
// failed authorization.
func providerErrorReason(value string) string {
	switch value {
	case "server_error", "temporarily_unavailable":
		return ReasonProviderUnavailable
	}
	return ReasonInvalidCode
}

// loggableErrorValue returns Sikka's error value if it looks like an OAuth
// error code (lower-case letters and '_', at most 64), else "other": the
// query is the sender's, so only a safe form reaches logs.
func loggableErrorValue(v string) string {
	if v == "" || len(v) > 64 || strings.TrimLeft(v, "abcdefghijklmnopqrstuvwxyz_") != "" {
		return "other"
	}
	return v
}
