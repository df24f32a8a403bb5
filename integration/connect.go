package integration

import (
	"context"
	"errors"
	"fmt"

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
// Errors: ErrInvalidCode, ErrNoAuthorizedPractice, ErrAlreadyConnected,
// ErrProviderUnavailable, secretstore.ErrInvalidName for an account id that
// cannot name a secret (checked before the code is spent); anything else is
// an internal failure.
func (s *Service) Connect(ctx context.Context, accountID, code string) (Record, error) {
	// The steps run in this one function, in this order, so that a crash-safe
	// PENDING stage can slot in before the secret write.
	name, err := s.cfg.SecretNames.Name(accountID)
	if err != nil {
		return Record{}, err
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
		return Record{}, providerError(err)
	}
	practice, ok := pickPractice(practices, key.IssuedTo)
	if !ok {
		return Record{}, ErrNoAuthorizedPractice
	}

	// Refuse early, before any write, when another account holds the
	// practice. The unique index still decides a race between two connects.
	if holder, err := s.cfg.Records.ActiveByOffice(ctx, ProviderSikka, practice.OfficeID); err == nil {
		if holder.AccountID != accountID {
			return Record{}, ErrAlreadyConnected
		}
	} else if !errors.Is(err, ErrNotFound) {
		return Record{}, err
	}

	// One writer per account at a time (two tabs, two replicas), so the
	// secret and the record always describe the same connect; refreshes of
	// the account wait too.
	unlock, err := s.cfg.Records.LockAccount(ctx, accountID)
	if err != nil {
		return Record{}, err
	}
	defer unlock()

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
	receipt, err := s.cfg.Secrets.Put(ctx, name, creds)
	if err != nil {
		return Record{}, fmt.Errorf("integration: store credentials: %w", err)
	}

	rec, err := s.cfg.Records.Upsert(ctx, Record{
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
	if err != nil {
		if undoErr := s.undoPut(ctx, receipt); undoErr != nil {
			s.log.Error("integration: could not undo the secret write after the record failed; the secret is orphaned",
				"account_id", accountID, "secret", name, "error", undoErr)
			err = errors.Join(err, undoErr)
		}
		if errors.Is(err, ErrAlreadyConnected) {
			return Record{}, err
		}
		return Record{}, fmt.Errorf("integration: save record: %w", err)
	}

	s.log.Info("integration: connected", "account_id", accountID, "office_id", rec.OfficeID,
		"practice", rec.PracticeName, "pms", rec.PMSType)
	if h := s.cfg.Hooks.Connected; h != nil {
		s.runHook(ctx, "Connected", accountID, func(ctx context.Context) { h(ctx, rec) })
	}
	return rec, nil
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
