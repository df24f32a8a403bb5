package integration

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/parlae/sikka-connect/sikka"
)

// ConnectOffice connects accountID to a practice that onboarded through the
// Sikka Marketplace (Sikka's documented path, with no authorization page):
// it reads the office in authorized_practices with the app's credentials,
// checks that the account owns it (Config.VerifyOffice; by default proof is
// the practice's secret key), takes a key with the request_key grant, and
// then writes exactly as Connect does: the same crash-safe dual write and
// stages, the same one-practice-one-account rule, the same hooks.
//
// The proof is only compared: never logged, stored or put in an error.
// Refused attempts are limited: a refused proof, or an office Sikka does not
// list for the app, counts; once the account, or the office, has made
// Config.MaxProofFailures refused attempts within Config.ProofFailureWindow,
// further attempts get ErrTooManyAttempts without their proof checked or
// Sikka called. Each attempt is counted in the repository (AttemptStore)
// before its proof is checked, and uncounted unless it was refused (Sikka
// unavailable, say, does not count),
// so the limit holds under concurrent attempts from any number of
// processes. An office another account holds is refused (ErrAlreadyConnected)
// before any key is requested, so its holder's keys are never disturbed.
//
// Errors: ErrOfficeNotAuthorized (not listed for the app, a malformed office
// id, or Sikka refusing its listed secret key), ErrInvalidProof,
// ErrTooManyAttempts, ErrAlreadyConnected, ErrProviderUnavailable,
// ErrInvalidAccountID; anything else is an internal failure.
func (s *Service) ConnectOffice(ctx context.Context, accountID, officeID, proof string) (Record, error) {
	name, err := s.cfg.SecretNames.Name(accountID)
	if err != nil {
		return Record{}, fmt.Errorf("%w: %w", ErrInvalidAccountID, err) // as CheckAccount
	}
	if !validOfficeID(officeID) {
		return Record{}, fmt.Errorf("%w: the office id must be 1-%d letters, digits, '-' or '_'", ErrOfficeNotAuthorized, maxOfficeIDLen)
	}
	practice, err := s.verifyOffice(ctx, accountID, officeID, proof)
	if err != nil {
		return Record{}, err
	}

	// Refused before a key is requested: a grant for an office another
	// account holds might disturb that account's keys.
	switch holder, err := s.cfg.Records.ActiveByOffice(ctx, ProviderSikka, practice.OfficeID); {
	case err == nil && holder.AccountID != accountID:
		return Record{}, ErrAlreadyConnected
	case err != nil && !errors.Is(err, ErrNotFound):
		return Record{}, fmt.Errorf("integration: read the office's holder: %w", err)
	}

	key, err := s.cfg.Sikka.RequestKey(ctx, practice.OfficeID, practice.SecretKey)
	if err != nil {
		if refused(err) {
			return Record{}, fmt.Errorf("%w: Sikka refused a key for the office: %w", ErrOfficeNotAuthorized, err)
		}
		return Record{}, providerError(err)
	}
	if key.IssuedTo != "" && key.IssuedTo != practice.OfficeID {
		return s.discardKey(ctx, accountID, key, fmt.Errorf("integration: Sikka issued the key of office %s to office %s", practice.OfficeID, key.IssuedTo))
	}
	return s.completeConnect(ctx, accountID, name, key, practice)
}

// verifyOffice reads the office's practice and checks the account's proof
// under the attempts limit; it returns the practice once the proof is
// accepted.
func (s *Service) verifyOffice(ctx context.Context, accountID, officeID, proof string) (sikka.Practice, error) {
	id, err := newFlowID()
	if err != nil {
		return sikka.Practice{}, err
	}
	a := Attempt{ID: id, AccountID: accountID, OfficeID: officeID, At: s.cfg.Now().UTC().Truncate(time.Microsecond)}
	ok, err := s.cfg.Records.ReserveAttempt(ctx, a, a.At.Add(-s.cfg.ProofFailureWindow), s.cfg.MaxProofFailures)
	if err != nil {
		return sikka.Practice{}, fmt.Errorf("integration: count the attempt: %w", err)
	}
	if !ok {
		s.log.Warn("integration: connect by office refused: too many refused proofs",
			"account_id", accountID, "office_id", officeID)
		return sikka.Practice{}, ErrTooManyAttempts
	}
	refused := false
	defer func() {
		if refused {
			return
		}
		// Not a refused proof: uncount it. Detached, so that a caller that
		// went away does not leave the attempt counted.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), revokeTimeout)
		defer cancel()
		if err := s.cfg.Records.ReleaseAttempt(rctx, a); err != nil {
			s.log.Error("integration: could not uncount an attempt; it counts as refused until it ages out",
				"account_id", accountID, "office_id", officeID, "error", err)
		}
	}()

	p, err := s.cfg.Sikka.AuthorizedPractice(ctx, officeID)
	switch {
	case errors.Is(err, sikka.ErrNoSuchPractice):
		// Counted like a refused proof: otherwise an account could try
		// office ids without end, each a call on the app's Sikka quota,
		// and learn which offices are on the Marketplace.
		refused = true
		s.log.Warn("integration: connect by office refused: office not listed for the app",
			"account_id", accountID, "office_id", officeID)
		return sikka.Practice{}, fmt.Errorf("%w: %w", ErrOfficeNotAuthorized, err)
	case err != nil:
		return sikka.Practice{}, providerError(err)
	}
	if err := s.cfg.VerifyOffice(ctx, accountID, *p, proof); err != nil {
		if !errors.Is(err, ErrInvalidProof) {
			return sikka.Practice{}, fmt.Errorf("integration: verify the office's owner: %w", err)
		}
		refused = true
		s.log.Warn("integration: connect by office refused: proof of ownership refused",
			"account_id", accountID, "office_id", officeID)
		return sikka.Practice{}, err
	}
	return *p, nil
}

// DefaultVerifyOffice is Config.VerifyOffice's default: proof must be the
// practice's secret key, the one Sikka lists for the office (the key its
// SPU was installed with). The comparison takes the same time whatever the
// proof (SHA-256 of both, compared in constant time). A practice listed
// without a secret key refuses every proof.
func DefaultVerifyOffice(_ context.Context, _ string, p sikka.Practice, proof string) error {
	want, got := sha256.Sum256([]byte(p.SecretKey)), sha256.Sum256([]byte(proof))
	if subtle.ConstantTimeCompare(want[:], got[:]) != 1 || p.SecretKey == "" {
		return ErrInvalidProof
	}
	return nil
}

// maxOfficeIDLen bounds an office id (Sikka's look like "D36225").
const maxOfficeIDLen = 64

// validOfficeID reports whether id can be an office id: 1-64 ASCII letters,
// digits, '-' or '_'. Anything else is refused without a call to Sikka.
func validOfficeID(id string) bool {
	if id == "" || len(id) > maxOfficeIDLen {
		return false
	}
	for _, c := range []byte(id) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// UnclaimedOffices lists, for operators, the offices that authorized the app
// on Sikka (authorized_practices, with the app's credentials) and that no
// account holds ACTIVE: practices that onboarded through the Marketplace
// and still wait for their account to connect them (ConnectOffice). One
// practice per office (practice id "1" when listed, as
// sikka.PrimaryPractice picks), in Sikka's order. SecretKey is always empty.
//
// Errors: ErrProviderUnavailable, or an internal failure (such as Sikka
// refusing the app's credentials).
func (s *Service) UnclaimedOffices(ctx context.Context) ([]sikka.Practice, error) {
	practices, err := s.cfg.Sikka.AuthorizedPracticesForApp(ctx)
	if err != nil {
		return nil, providerError(err)
	}
	held, err := s.cfg.Records.ActiveOffices(ctx, ProviderSikka)
	if err != nil {
		return nil, fmt.Errorf("integration: list connected offices: %w", err)
	}
	var out []sikka.Practice
	seen := make(map[string]bool, len(held))
	for _, o := range held {
		seen[o] = true
	}
	for _, p := range practices {
		if seen[p.OfficeID] {
			continue
		}
		seen[p.OfficeID] = true
		p, _ = sikka.PrimaryPractice(practices, p.OfficeID)
		p.SecretKey = ""
		out = append(out, p)
	}
	return slices.Clip(out), nil
}
