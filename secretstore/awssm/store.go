package awssm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/parlae/sikka-connect/secretstore"
)

var _ secretstore.Store = (*Store)(nil)

const stageCurrent = "AWSCURRENT"

// maxRaces bounds how often Put retries after a concurrent process created
// or deleted the same secret between two of its calls.
const maxRaces = 3

// Store is a secretstore.Store on AWS Secrets Manager. It is safe for
// concurrent use. References are ARNs; Get, Delete and Restore accept a
// name or an ARN.
//
// Secrets Manager has no check-and-set on PutSecretValue, so the store
// serializes the writes (Put, Restore) to one name within the process; that
// makes Receipt.Previous and IfVersion exact among callers sharing a Store.
// Across processes, IfVersion("") is exact (CreateSecret is atomic) but
// IfVersion(v) is check-then-write: a writer in another process can slip in
// between the DescribeSecret and the PutSecretValue. The SDK fills every
// write's ClientRequestToken, so its own retries never add versions.
type Store struct {
	api   API
	cfg   Config
	log   *slog.Logger
	locks keyedMutex
}

// New returns a store using client (usually a *secretsmanager.Client). It
// makes no call; errors are configuration errors.
func New(client API, cfg Config) (*Store, error) {
	if client == nil {
		return nil, errNilClient
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Store{api: client, cfg: cfg, log: cfg.Logger}, nil
}

// isARN reports whether s looks like a Secrets Manager secret ARN.
func isARN(s string) bool {
	return strings.HasPrefix(s, "arn:") && strings.Contains(s, ":secretsmanager:") && strings.Contains(s, ":secret:")
}

// parse validates a name or ARN and returns it with the name it designates
// (for an ARN: the name before Secrets Manager's "-xxxxxx" suffix).
func parse(nameOrRef string) (id, name string, err error) {
	if !isARN(nameOrRef) {
		return nameOrRef, nameOrRef, secretstore.ValidateName(nameOrRef)
	}
	_, tail, _ := strings.Cut(nameOrRef, ":secret:")
	name = tail
	if i := strings.LastIndexByte(tail, '-'); i > 0 && len(tail)-i == 7 {
		name = tail[:i]
	}
	if err := secretstore.ValidateName(name); err != nil {
		return "", "", fmt.Errorf("%w (in ARN %q)", err, nameOrRef)
	}
	return nameOrRef, name, nil
}

// start validates nameOrRef, bounds ctx with the timeout and checks it.
func (s *Store) start(ctx context.Context, op, nameOrRef string) (context.Context, context.CancelFunc, string, string, error) {
	id, name, err := parse(nameOrRef)
	if err != nil {
		return nil, nil, "", "", fmt.Errorf("secretstore/awssm: %s: %w", op, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, "", "", fmt.Errorf("secretstore/awssm: %s %q: %w", op, id, err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	return ctx, cancel, id, name, nil
}

// fail wraps err with the operation and the name or ARN; when ctx is done,
// the context error is wrapped too so errors.Is finds it.
func fail(ctx context.Context, op, id string, err error) error {
	if ce := ctx.Err(); ce != nil && !errors.Is(err, ce) {
		return fmt.Errorf("secretstore/awssm: %s %q: %w: %w", op, id, ce, err)
	}
	return fmt.Errorf("secretstore/awssm: %s %q: %w", op, id, err)
}

func isNotFound(err error) bool {
	var e *types.ResourceNotFoundException
	return errors.As(err, &e)
}

func isExists(err error) bool {
	var e *types.ResourceExistsException
	return errors.As(err, &e)
}

func isInvalidRequest(err error) bool {
	var e *types.InvalidRequestException
	return errors.As(err, &e)
}

// state is what DescribeSecret says about a secret.
type state struct {
	exists  bool   // known to Secrets Manager (possibly scheduled for deletion)
	deleted bool   // scheduled for deletion: reads as ErrNotFound
	arn     string // when exists
	current string // version id with AWSCURRENT, when exists and not deleted
}

func (s *Store) describe(ctx context.Context, id string) (state, error) {
	out, err := s.api.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(id)})
	if isNotFound(err) {
		return state{}, nil
	}
	if err != nil {
		return state{}, err
	}
	st := state{exists: true, deleted: out.DeletedDate != nil, arn: aws.ToString(out.ARN)}
	if !st.deleted {
		// kumo may leave several versions marked; take the first in order for determinism.
		ids := make([]string, 0, len(out.VersionIdsToStages))
		for v, stages := range out.VersionIdsToStages {
			for _, stage := range stages {
				if stage == stageCurrent {
					ids = append(ids, v)
				}
			}
		}
		sort.Strings(ids)
		if len(ids) > 0 {
			st.current = ids[0]
		}
	}
	return st, nil
}

// Put implements secretstore.Store: CreateSecret when the name is new
// (with KMSKeyID and Tags), otherwise PutSecretValue, which makes the
// previous AWSCURRENT version AWSPREVIOUS. A secret scheduled for deletion
// is restored (RestoreSecret) and overwritten; Previous is then "".
func (s *Store) Put(ctx context.Context, name string, c secretstore.Credentials, opts ...secretstore.PutOption) (secretstore.Receipt, error) {
	if isARN(name) {
		return secretstore.Receipt{}, fmt.Errorf("secretstore/awssm: put: %w: Put takes a name, not an ARN", secretstore.ErrInvalidName)
	}
	ctx, cancel, _, name, err := s.start(ctx, "put", name)
	if err != nil {
		return secretstore.Receipt{}, err
	}
	defer cancel()
	data, err := secretstore.EncodeCredentials(c)
	if err != nil {
		return secretstore.Receipt{}, fail(ctx, "put", name, err)
	}
	unlock, err := s.locks.lock(ctx, name)
	if err != nil {
		return secretstore.Receipt{}, fail(ctx, "put", name, err)
	}
	defer unlock()
	r, err := s.write(ctx, name, string(data), secretstore.NewPutOptions(opts...))
	if err != nil {
		return secretstore.Receipt{}, fail(ctx, "put", name, err)
	}
	s.log.DebugContext(ctx, "secretstore/awssm: put", "name", name, "arn", r.Ref, "version", r.Version, "previous", r.Previous)
	return r, nil
}

// write makes value current; the caller holds the name's lock.
func (s *Store) write(ctx context.Context, name, value string, o secretstore.PutOptions) (secretstore.Receipt, error) {
	for race := 0; ; race++ {
		st, err := s.describe(ctx, name)
		if err != nil {
			return secretstore.Receipt{}, err
		}
		if o.CheckVersion && o.IfVersion != st.current {
			return secretstore.Receipt{}, fmt.Errorf("current version is not %q: %w", o.IfVersion, secretstore.ErrVersionConflict)
		}
		if !st.exists {
			out, err := s.api.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
				Name:         aws.String(name),
				SecretString: aws.String(value),
				KmsKeyId:     optional(s.cfg.KMSKeyID),
				Tags:         s.tags(),
			})
			if isExists(err) && race < maxRaces {
				continue // another process created it: overwrite (or conflict) instead
			}
			if err != nil {
				return secretstore.Receipt{}, err
			}
			return secretstore.Receipt{Ref: aws.ToString(out.ARN), Version: aws.ToString(out.VersionId)}, nil
		}
		if st.deleted {
			if _, err := s.api.RestoreSecret(ctx, &secretsmanager.RestoreSecretInput{SecretId: aws.String(st.arn)}); err != nil {
				return secretstore.Receipt{}, fmt.Errorf("restoring the secret scheduled for deletion: %w", err)
			}
		}
		out, err := s.api.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{
			SecretId:     aws.String(st.arn),
			SecretString: aws.String(value),
		})
		if isNotFound(err) && race < maxRaces {
			continue // deleted meanwhile by another process: create it
		}
		if err != nil {
			return secretstore.Receipt{}, err
		}
		return secretstore.Receipt{Ref: aws.ToString(out.ARN), Version: aws.ToString(out.VersionId), Previous: st.current}, nil
	}
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}

func (s *Store) tags() []types.Tag {
	if len(s.cfg.Tags) == 0 {
		return nil
	}
	keys := make([]string, 0, len(s.cfg.Tags))
	for k := range s.cfg.Tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	tags := make([]types.Tag, 0, len(keys))
	for _, k := range keys {
		tags = append(tags, types.Tag{Key: aws.String(k), Value: aws.String(s.cfg.Tags[k])})
	}
	return tags
}

// Get implements secretstore.Store. A secret scheduled for deletion reads as
// ErrNotFound.
func (s *Store) Get(ctx context.Context, nameOrRef string) (secretstore.Secret, error) {
	ctx, cancel, id, _, err := s.start(ctx, "get", nameOrRef)
	if err != nil {
		return secretstore.Secret{}, err
	}
	defer cancel()
	out, err := s.getValue(ctx, id, "")
	if err != nil {
		return secretstore.Secret{}, fail(ctx, "get", id, err)
	}
	if out.SecretString == nil {
		return secretstore.Secret{}, fail(ctx, "get", id, fmt.Errorf("%w: the secret holds binary data", secretstore.ErrMalformed))
	}
	c, err := secretstore.DecodeCredentials([]byte(*out.SecretString))
	if err != nil {
		return secretstore.Secret{}, fail(ctx, "get", id, err)
	}
	return secretstore.Secret{Ref: aws.ToString(out.ARN), Version: aws.ToString(out.VersionId), Credentials: c}, nil
}

// getValue reads the current version, or version when set, mapping a
// missing secret or version, and a secret scheduled for deletion, to
// ErrNotFound.
func (s *Store) getValue(ctx context.Context, id, version string) (*secretsmanager.GetSecretValueOutput, error) {
	in := &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)}
	if version != "" {
		in.VersionId = aws.String(version)
	}
	out, err := s.api.GetSecretValue(ctx, in)
	switch {
	case err == nil:
		return out, nil
	case isNotFound(err):
		return nil, secretstore.ErrNotFound
	case isInvalidRequest(err):
		// Secrets Manager refuses reads of a secret scheduled for deletion.
		if st, derr := s.describe(ctx, id); derr == nil && st.deleted {
			return nil, fmt.Errorf("scheduled for deletion: %w", secretstore.ErrNotFound)
		}
	}
	return nil, err
}

// Delete implements secretstore.Store. Without ForceDeleteWithoutRecovery
// the secret is scheduled for deletion after RecoveryWindowDays; it reads
// as ErrNotFound at once, and deleting it again gives ErrNotFound.
func (s *Store) Delete(ctx context.Context, nameOrRef string) error {
	ctx, cancel, id, _, err := s.start(ctx, "delete", nameOrRef)
	if err != nil {
		return err
	}
	defer cancel()
	st, err := s.describe(ctx, id)
	if err != nil {
		return fail(ctx, "delete", id, err)
	}
	if !st.exists || st.deleted {
		return fail(ctx, "delete", id, secretstore.ErrNotFound)
	}
	in := &secretsmanager.DeleteSecretInput{SecretId: aws.String(st.arn)}
	if s.cfg.ForceDeleteWithoutRecovery {
		in.ForceDeleteWithoutRecovery = aws.Bool(true)
	} else {
		in.RecoveryWindowInDays = aws.Int64(s.cfg.RecoveryWindowDays)
	}
	if _, err := s.api.DeleteSecret(ctx, in); err != nil {
		if isNotFound(err) {
			err = secretstore.ErrNotFound
		}
		return fail(ctx, "delete", id, err)
	}
	s.log.DebugContext(ctx, "secretstore/awssm: delete", "arn", st.arn, "force", s.cfg.ForceDeleteWithoutRecovery)
	return nil
}

// Restore implements secretstore.Store: it reads the version (by its id)
// and puts its value again as the new AWSCURRENT. Secrets Manager keeps old
// versions only while they carry a staging label (AWSPREVIOUS for the one
// just overwritten), so restore soon after the Put it undoes.
func (s *Store) Restore(ctx context.Context, nameOrRef string, version string) error {
	ctx, cancel, id, name, err := s.start(ctx, "restore", nameOrRef)
	if err != nil {
		return err
	}
	defer cancel()
	if n := len(version); n < 32 || n > 64 { // Secrets Manager's version id length
		return fail(ctx, "restore", id, fmt.Errorf("version %q: %w", version, secretstore.ErrNotFound))
	}
	unlock, err := s.locks.lock(ctx, name)
	if err != nil {
		return fail(ctx, "restore", id, err)
	}
	defer unlock()
	old, err := s.getValue(ctx, id, version)
	if err != nil {
		return fail(ctx, "restore", id, fmt.Errorf("version %q: %w", version, err))
	}
	if old.SecretString == nil {
		return fail(ctx, "restore", id, fmt.Errorf("%w: version %q holds binary data", secretstore.ErrMalformed, version))
	}
	out, err := s.api.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{
		SecretId:     old.ARN,
		SecretString: old.SecretString,
	})
	if err != nil {
		if isNotFound(err) {
			err = secretstore.ErrNotFound
		}
		return fail(ctx, "restore", id, err)
	}
	s.log.DebugContext(ctx, "secretstore/awssm: restore", "arn", aws.ToString(out.ARN), "from", version, "version", aws.ToString(out.VersionId))
	return nil
}
