package integration

import "errors"

// Errors of the Service, matched with errors.Is. The HTTP layer maps each to
// a frontend reason; any other error is an internal failure.
var (
	// ErrInvalidCode: Sikka refused the authorization code (unknown,
	// expired, already used, or issued to another app). Reason invalid_code.
	ErrInvalidCode = errors.New("integration: authorization code refused by Sikka")
	// ErrNoAuthorizedPractice: the code was good but Sikka lists no practice
	// for the key. Reason invalid_code: the practice should authorize again.
	ErrNoAuthorizedPractice = errors.New("integration: Sikka lists no authorized practice for this key")
	// ErrProviderUnavailable: Sikka did not answer usefully (5xx, timeout,
	// rate limit, connection refused). Reason provider_unavailable.
	ErrProviderUnavailable = errors.New("integration: Sikka is unavailable")
	// ErrNeedsReauth: the account's keys can no longer be renewed; the
	// practice must authorize again (connect anew).
	ErrNeedsReauth = errors.New("integration: the practice must authorize again")
	// ErrNotConnected: the account has no ACTIVE integration.
	ErrNotConnected = errors.New("integration: account is not connected")
	// ErrInvalidAccountID: the account id cannot name the account's secret
	// (see CheckAccount); secretstore.ErrInvalidName is in the chain too.
	ErrInvalidAccountID = errors.New("integration: invalid account id")
)

// Errors of the repository and the service. Callers branch on them with
// errors.Is; the HTTP layer maps them to the frontend's reasons.
var (
	// ErrNotFound: the account has no integration record.
	ErrNotFound = errors.New("integration: not found")
	// ErrAlreadyConnected: another account holds an ACTIVE integration for
	// the same practice (office id).
	ErrAlreadyConnected = errors.New("integration: practice already connected to another account")
	// ErrInvalidRecord: a record is missing a required field.
	ErrInvalidRecord = errors.New("integration: invalid record")
)

// ErrFlowLost: CompletePending found the flow's marker gone or claimed by a
// recovery; nothing was written.
var ErrFlowLost = errors.New("integration: the connect was taken over by a recovery")

// ErrTooManyFlows: the account (or, for the memory repository, the process)
// already has as many unfinished connect flows as the nonce store keeps. The
// start route answers 429; the flows free up as they finish or expire.
var ErrTooManyFlows = errors.New("integration: too many connect flows in progress")

// Errors of ConnectOffice (connecting a practice that onboarded through the
// Sikka Marketplace). The HTTP layer maps each to a frontend reason.
var (
	// ErrOfficeNotAuthorized: Sikka does not list the office among the
	// practices that authorized the app (it has not onboarded for the app
	// on the Marketplace, or the office id is wrong), or refuses a key for
	// it. Reason not_authorized.
	ErrOfficeNotAuthorized = errors.New("integration: the practice has not authorized the app on Sikka")
	// ErrInvalidProof: the proof of ownership of the office was refused
	// (Config.VerifyOffice). Reason invalid_credentials.
	ErrInvalidProof = errors.New("integration: proof of practice ownership refused")
	// ErrTooManyAttempts: the account or the office already made
	// Config.MaxProofFailures refused attempts (refused proofs, offices not
	// listed) within ProofFailureWindow; the proof was not checked. Reason
	// too_many_attempts: try again later.
	ErrTooManyAttempts = errors.New("integration: too many refused attempts to connect an office; try again later")
)
