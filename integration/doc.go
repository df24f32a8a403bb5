// Package integration is the domain of a practice's connection through
// Sikka: the Record an account's integration is, the storage it needs, and
// the Service that connects, keeps the keys fresh and disconnects.
//
// # The Service
//
// NewService takes a Sikka client (package sikka), a secret store (package
// secretstore: Vault, AWS Secrets Manager or memory) and a Repository (the
// records, account locks, pending-connect markers and state nonces:
// integration/postgres or integration/memory). Then:
//
//   - Connect(ctx, account, code) trades an authorization code for keys,
//     reads the authorized practice, writes the credentials to the secret
//     store and the ACTIVE record, keeping the two consistent whatever
//     fails or dies in between (see Connect, and Reconcile for what a dead
//     process leaves).
//   - Credentials(ctx, account) returns usable credentials, refreshing the
//     request key when it is close to expiry (once per account across every
//     process sharing the repository); RefreshDue does so for every account
//     ahead of time.
//   - Disconnect(ctx, account) marks the record REVOKED, revokes the key at
//     Sikka and deletes the secret; Status reads the record.
//
// The HTTP side (package middleware) calls Connect from its callback route
// and maps the errors below to the frontend's reasons.
//
// # Storage
//
// Repository is the composition of five roles, each with a contract suite
// in integrationtest: RecordStore, AccountLocker, PendingFlowStore,
// NonceStore and DataRefreshStore (what Sikka's Data_Refresh webhook
// records: RecordDataRefresh, called by package webhook). integration/postgres implements them on PostgreSQL (one
// schema, migrations exported by postgres.Migrations) and, as a
// ConnectBeginner, starts a connect in one statement; integration/memory
// implements them in memory for the demo and tests.
//
// # Errors
//
// Errors are matched with errors.Is: ErrInvalidCode, ErrNoAuthorizedPractice,
// ErrAlreadyConnected, ErrProviderUnavailable, ErrInvalidAccountID,
// ErrNeedsReauth, ErrNotConnected, ErrNotFound, ErrInvalidRecord, ErrFlowLost
// and ErrTooManyFlows (all in errors.go). Anything else is a system failure.
// No error or log line holds a secret.
package integration
