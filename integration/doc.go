// Package integration is the domain of a practice's connection through
// Sikka: the Record an account's integration is, the storage it needs, and
// the Service that connects, keeps the keys fresh and disconnects.
//
// # The Service
//
// NewService takes a Sikka client (package sikka), a secret store (package
// secretstore: Vault, AWS Secrets Manager or memory) and a Repository (the
// records, account locks, pending-connect markers, state nonces and counts
// of ownership proofs:
// integration/postgres or integration/memory). Then:
//
//   - Connect(ctx, account, code) trades an authorization code for keys,
//     reads the authorized practice, writes the credentials to the secret
//     store and the ACTIVE record, keeping the two consistent whatever
//     fails or dies in between (see Connect, and Reconcile for what a dead
//     process leaves).
//   - ConnectOffice(ctx, account, office, proof) connects a practice that
//     onboarded through the Sikka Marketplace (Sikka's documented path): the
//     office must be listed for the app, the account proves it owns it (by
//     default the practice's secret key; Config.VerifyOffice), refused
//     proofs are limited across replicas (AttemptStore), and the writes are
//     Connect's own. UnclaimedOffices lists, for operators, the offices that
//     authorized the app and that no account holds.
//   - Credentials(ctx, account) returns usable credentials, refreshing the
//     request key when it is close to expiry (once per account across every
//     process sharing the repository); RefreshDue does so for every account
//     ahead of time.
//   - Disconnect(ctx, account) marks the record REVOKED, revokes the key at
//     Sikka and deletes the secret; Status reads the record.
//
// The HTTP side (package middleware) calls Connect from its callback route,
// ConnectOffice from its connect route, and maps the errors below to the
// frontend's reasons.
//
// # Storage
//
// Repository is the composition of five roles, each with a contract suite
// in integrationtest: RecordStore, AccountLocker, PendingFlowStore,
// NonceStore and AttemptStore. integration/postgres implements them on PostgreSQL (one
// schema, migrations exported by postgres.Migrations) and, as a
// ConnectBeginner, starts a connect in one statement; integration/memory
// implements them in memory for the demo and tests.
//
// # Errors
//
// Errors are matched with errors.Is: ErrInvalidCode, ErrNoAuthorizedPractice,
// ErrAlreadyConnected, ErrProviderUnavailable, ErrInvalidAccountID,
// ErrNeedsReauth, ErrNotConnected, ErrNotFound, ErrInvalidRecord, ErrFlowLost
// and ErrTooManyFlows, and for ConnectOffice ErrOfficeNotAuthorized,
// ErrInvalidProof and ErrTooManyAttempts (all in errors.go). Anything else is a system failure.
// No error or log line holds a secret.
package integration
