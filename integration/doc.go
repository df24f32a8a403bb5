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
//   - HTTPClient(account) is an *http.Client that calls Sikka as the
//     account: it adds the Request-Key, renews it ahead of expiry and once
//     when Sikka rejects it, paces itself by Sikka's rate headers, and sends
//     nothing to any other host.
//   - Run(ctx) runs RefreshDue and Reconcile on tickers until ctx ends: the
//     host's one background goroutine.
//
// The HTTP side (package middleware) calls Connect from its callback route,
// sends browsers to AuthorizeURL (the Sikka client's app id and page), calls
// ConnectOffice from its connect route, and maps the errors below to the
// frontend's reasons.
//
// # The credentials cache and its staleness
//
// Credentials and HTTPClient serve an account's credentials from a cache in
// the process (at most Config.CacheSize accounts, least recently used
// dropped first): a cached call makes no database and no secret-store round
// trip. The contract:
//
//   - The cache never hands out, nor keeps in memory, a key with less than
//     RefreshMargin left (let alone an expired one): an entry is dropped, by
//     a timer, when its key comes that close to expiring or when it is
//     CacheStaleness old, whichever is first. A call for such a key goes the
//     refresh path (single-flight, account lock, re-read) and caches what it
//     stored.
//   - What this process does is seen at once: its own refresh, reconnect,
//     recovery of a dead connect (every write of the account's secret) and
//     disconnect or NEEDS_REAUTH (the record's change) drop the account's
//     entry, and a read that raced with the write never puts the old value
//     back.
//   - What another process does (a replica's disconnect, reconnect or
//     refresh) is seen within Config.CacheStaleness (default 5 minutes):
//     an entry older than that is read again from the repository and the
//     secret store. Until then this process may still send the previous key.
//     After a refresh or reconnect elsewhere that is harmless: the previous
//     key works until it expires, or, if it was revoked, Sikka rejects it and
//     the next point applies. After a disconnect elsewhere, calls may go on
//     with the revoked key, and fail at Sikka, until the bound passes. Lower
//     CacheStaleness to shorten that window, at one record and one secret
//     read per account per period.
//   - A key Sikka rejects (HTTPClient) makes the store be read again under
//     the account's lock before anything is renewed: a key another replica
//     renewed meanwhile is used as it is.
//
// # Storage
//
// Repository is the composition of five roles, each with a contract suite
// in integrationtest: RecordStore, AccountLocker, PendingFlowStore,
// NonceStore, DataRefreshStore (what Sikka's Data_Refresh webhook
// records: RecordDataRefresh, called by package webhook) and AttemptStore
// (the counts of ownership proofs). integration/postgres implements them on PostgreSQL (one
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
