package integration

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/parlae/sikka-connect/secretstore"
	"github.com/parlae/sikka-connect/sikka"
)

// Connect completes an authorization for accountID: it trades the code for a
// request key, reads the practice the key was issued to, refuses a practice
// that another account holds (ErrAlreadyConnected), writes the credentials to
// the secret store and then the ACTIVE record.
//
// The dual write keeps the invariants: no ACTIVE record without its secret,
// and no secret left behind when the record cannot be written (a secret the
// call created is deleted; an overwritten one is restored to its previous
// version). Reconnecting an account overwrites its secret and record in place.
//
// No key Sikka issued is left live for nothing: when the connect fails after
// the exchange, the new request key is revoked at Sikka, and after a
// reconnect the previous one (when it differs). Revocations are best effort,
// detached from ctx's cancellation and bounded; a failure is logged and the
// key expires on its own. A key the account's record may still use is never
// revoked (a record write that committed although it reported an error).
//
// It also keeps them when the process dies at any point: under the account's
// lock, a PendingFlow marker (the secret's name and its version before) is
// saved before the secret is written, and removed in the same atomic step
// that writes the ACTIVE record. A marker left behind is recovered (the
// secret write undone, the marker removed) by Reconcile, or at once by the
// account's next connect or refresh. An account that was ACTIVE stays ACTIVE
// with its previous credentials if its reconnect dies.
//
// Errors: ErrInvalidCode, ErrNoAuthorizedPractice, ErrAlreadyConnected,
// ErrProviderUnavailable, ErrInvalidAccountID (with secretstore.ErrInvalidName)
// for an account id that cannot name a secret (checked before the code is
// spent; see CheckAccount); anything else is an internal failure.
func (s *Service) Connect(ctx context.Context, accountID, code string) (Record, error) {
	// The steps run in this order, here and then in completeConnect (which
	// ConnectOffice shares); Config.StageHook is called after each (see
	// Stage).
	name, err := s.cfg.SecretNames.Name(accountID)
	if err != nil {
		return Record{}, fmt.Errorf("%w: %w", ErrInvalidAccountID, err) // as CheckAccount
	}

	key, err := s.cfg.Sikka.ExchangeCode(ctx, code)
	if err != nil {
		if errors.Is(err, sikka.ErrInvalidGrant) || errors.Is(err, sikka.ErrUnauthorized) {
			return Record{}, fmt.Errorf("%w: %w", ErrInvalidCode, err)
		}
		return Record{}, providerError(err)
	}

	practices, err := s.cfg.Sikka.AuthorizedPractices(ctx, key.RequestKey)
	if err != nil {
		return s.discardKey(ctx, accountID, key, providerError(err))
	}
	practice, ok := pickPractice(practices, key.IssuedTo)
	if !ok {
		return s.discardKey(ctx, accountID, key, ErrNoAuthorizedPractice)
	}
	return s.completeConnect(ctx, accountID, name, key, practice)
}

// discardKey revokes a key Sikka issued for a connect that fails (both keys
// are live at Sikka: a refresh key until deleted, and nothing will use them)
// and returns err.
func (s *Service) discardKey(ctx context.Context, accountID string, key *sikka.Key, err error) (Record, error) {
	s.revokeKey(ctx, accountID, key.RequestKey, key.Expiry, "connect failed")
	s.revokeRefreshKey(ctx, accountID, key.RefreshKey, "connect failed")
	return Record{}, err
}

// completeConnect is the part of a connect that follows the key: Connect
// and ConnectOffice share it from StageExchanged on, so both keep the same
// dual write, crash safety, one-practice-one-account rule and hooks. key was
// issued to practice; name is the account's secret name. Any failure
// revokes key unless the account's record may use it after all.
func (s *Service) completeConnect(ctx context.Context, accountID, name string, key *sikka.Key, practice sikka.Practice) (Record, error) {
	fail := func(err error) (Record, error) { return s.discardKey(ctx, accountID, key, err) }
	s.stage(ctx, accountID, StageExchanged)

	// What the secret holds now, read before the lock so that the lock is
	// taken, the practice checked and the marker saved in one step
	// (BeginConnect). The write below is a check-and-set on this version: if
	// another connect of the account wrote since, it fails and the version
	// is read again under the lock.
	cur, err := s.currentCredentials(ctx, name)
	if err != nil {
		return fail(err)
	}
	flowID, err := newFlowID()
	if err != nil {
		return fail(err)
	}
	flow := PendingFlow{
		FlowID:      flowID,
		AccountID:   accountID,
		Provider:    ProviderSikka,
		OfficeID:    practice.OfficeID,
		SecretName:  name,
		PrevVersion: cur.Version,
		KeyHash:     keyHash(key.RequestKey),
		StartedAt:   s.cfg.Now().UTC().Truncate(time.Microsecond),
	}

	// One writer per account at a time (two tabs, two replicas), so the
	// secret and the record always describe the same connect; refreshes of
	// the account wait too. The lock is held from the marker to the record.
	// Another account holding the practice is refused here, before any
	// write; the unique index still decides a race between two connects.
	lock, started, err := s.beginConnect(ctx, flow)
	if err != nil {
		return fail(err)
	}
	defer lock.Unlock()
	if !started {
		// A marker left by an earlier connect of this account belongs to a
		// flow that died (it would hold the lock otherwise): undo it, read
		// what the secret holds now, then save this flow's marker.
		if err := s.recoverPendingLocked(ctx, accountID); err != nil {
			return fail(err)
		}
		if cur, err = s.currentCredentials(ctx, name); err != nil {
			return fail(err)
		}
		flow.PrevVersion = cur.Version
		if err := s.cfg.Records.InsertPending(ctx, flow); err != nil {
			return fail(fmt.Errorf("integration: save pending connect: %w", err))
		}
	}
	s.stage(ctx, accountID, StagePending)
	// abort undoes this flow's writes after a failure. If that fails too,
	// the marker stays for Reconcile or the account's next connect. The new
	// key is then revoked unless the record may use it after all.
	abort := func(cause error) (Record, error) {
		if _, err := s.recoverLocked(ctx, flow, "connect"); err != nil {
			s.log.Error("integration: could not undo a failed connect; it is left for the reconciler",
				"account_id", accountID, "secret", name, "error", err)
			cause = errors.Join(cause, err)
		}
		if s.keyMayBeInUse(ctx, accountID, name, key.RequestKey) {
			return Record{}, cause
		}
		return fail(cause)
	}

	creds := secretstore.Credentials{
		OfficeID:     practice.OfficeID,
		SecretKey:    practice.SecretKey,
		RequestKey:   key.RequestKey,
		RefreshKey:   key.RefreshKey,
		TokenExpiry:  key.Expiry,
		PracticeName: practice.Name,
		PracticeID:   practice.PracticeID,
		PMSType:      practice.PMS,
	}
	receipt, err := s.cfg.Secrets.Put(ctx, name, creds, secretstore.IfVersion(flow.PrevVersion))
	if errors.Is(err, secretstore.ErrVersionConflict) {
		// Another connect of the account wrote between the read above and
		// the lock (or a marker was recovered): nothing was written. Under
		// the lock, read the version again, say it in the marker, retry.
		receipt, err = s.putAgain(ctx, &flow, &cur, creds)
	}
	if err != nil {
		// The write may have happened even so (a lost answer): undo by
		// the marker, which compares versions.
		return abort(fmt.Errorf("integration: store credentials: %w", err))
	}
	s.stage(ctx, accountID, StageSecretWritten)

	rec, err := lock.Complete(ctx, flowID, Record{
		AccountID:    accountID,
		Provider:     ProviderSikka,
		Status:       StatusActive,
		OfficeID:     practice.OfficeID,
		SecretRef:    receipt.Ref,
		PracticeName: practice.Name,
		PMSType:      practice.PMS,
		PracticeID:   practice.PracticeID,
		KeyExpiry:    key.Expiry,
		ConnectedAt:  s.cfg.Now(),
	})
	switch {
	case errors.Is(err, ErrFlowLost):
		// A recovery took this flow over (this process lost the lock): it
		// undoes the write by the marker; undo it here too in case the
		// write came after the recovery looked.
		if undoErr := s.undoIfCurrent(ctx, name, receipt); undoErr != nil {
			err = errors.Join(err, undoErr)
		}
		if s.keyMayBeInUse(ctx, accountID, name, key.RequestKey) {
			return Record{}, err
		}
		return fail(err)
	case errors.Is(err, ErrAlreadyConnected):
		return abort(err)
	case err != nil:
		return abort(fmt.Errorf("integration: save record: %w", err))
	}
	s.stage(ctx, accountID, StageRecordWritten)

	// The previous key (this account's, of this practice or another) is
	// replaced for good.
	if cur.RequestKey != key.RequestKey {
		s.revokeKey(ctx, accountID, cur.RequestKey, cur.TokenExpiry, "replaced by a reconnect")
	}
	if cur.RefreshKey != key.RefreshKey {
		s.revokeRefreshKey(ctx, accountID, cur.RefreshKey, "replaced by a reconnect")
	}

	s.log.Info("integration: connected", "account_id", accountID, "office_id", rec.OfficeID,
		"practice", rec.PracticeName, "pms", rec.PMSType)
	if h := s.cfg.Hooks.Connected; h != nil {
		s.runHook(ctx, "Connected", accountID, func(ctx context.Context) { h(ctx, rec) })
	}
	return rec, nil
}

// currentCredentials returns the secret called name, or a zero Secret when
// there is none.
func (s *Service) currentCredentials(ctx context.Context, name string) (secretstore.Secret, error) {
	cur, err := s.cfg.Secrets.Get(ctx, name)
	switch {
	case errors.Is(err, secretstore.ErrNotFound):
		return secretstore.Secret{}, nil
	case err != nil:
		return secretstore.Secret{}, fmt.Errorf("integration: read current credentials: %w", err)
	}
	return cur, nil
}

// putAgain writes creds after a version conflict: it reads the current
// version (the caller holds the account's lock, so no writer comes between),
// replaces the flow's marker with one naming that version, and writes with a
// check-and-set on it. cur and flow are updated.
func (s *Service) putAgain(ctx context.Context, flow *PendingFlow, cur *secretstore.Secret, creds secretstore.Credentials) (secretstore.Receipt, error) {
	now, err := s.currentCredentials(ctx, flow.SecretName)
	if err != nil {
		return secretstore.Receipt{}, err
	}
	if err := s.cfg.Records.DeletePending(ctx, flow.FlowID); err != nil {
		return secretstore.Receipt{}, fmt.Errorf("integration: replace pending connect: %w", err)
	}
	next := *flow
	next.PrevVersion = now.Version
	if err := s.cfg.Records.InsertPending(ctx, next); err != nil {
		return secretstore.Receipt{}, fmt.Errorf("integration: replace pending connect: %w", err)
	}
	*flow, *cur = next, now
	return s.cfg.Secrets.Put(ctx, flow.SecretName, creds, secretstore.IfVersion(flow.PrevVersion))
}

// keyMayBeInUse reports whether the account's record may use requestKey
// although its connect failed: the record is ACTIVE and its secret holds the
// key (a record write that committed although it reported an error, or an
// undo that failed and is left for the reconciler). When it cannot tell, it
// says yes: revoking a key in use would cut the account off.
func (s *Service) keyMayBeInUse(ctx context.Context, accountID, name, requestKey string) bool {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), revokeTimeout)
	defer cancel()
	rec, err := s.cfg.Records.Get(ctx, accountID)
	switch {
	case errors.Is(err, ErrNotFound):
		return false
	case err != nil:
		return true
	case rec.Status != StatusActive:
		return false
	}
	sec, err := s.cfg.Secrets.Get(ctx, name)
	switch {
	case errors.Is(err, secretstore.ErrNotFound):
		return false
	case err != nil:
		return true
	}
	return sec.RequestKey == requestKey
}

// undoPut reverses a Put: delete what it created, restore what it overwrote.
// It runs even when ctx is done, since leaving the write in place is worse.
func (s *Service) undoPut(ctx context.Context, r secretstore.Receipt) error {
	ctx = context.WithoutCancel(ctx)
	var err error
	if r.Previous == "" {
		err = s.cfg.Secrets.Delete(ctx, r.Ref)
	} else {
		err = s.cfg.Secrets.Restore(ctx, r.Ref, r.Previous)
	}
	if errors.Is(err, secretstore.ErrNotFound) {
		return nil
	}
	return err
}

// pickPractice chooses the practice a key was issued to. Sikka's
// authorization_code answer may omit issued_to (the original notes show none):
// then a single listed office is unambiguous.
func pickPractice(practices []sikka.Practice, issuedTo string) (sikka.Practice, bool) {
	if issuedTo != "" {
		return sikka.PrimaryPractice(practices, issuedTo)
	}
	if len(practices) == 0 {
		return sikka.Practice{}, false
	}
	office := practices[0].OfficeID
	for _, p := range practices[1:] {
		if p.OfficeID != office {
			return sikka.Practice{}, false
		}
	}
	return sikka.PrimaryPractice(practices, office)
}
