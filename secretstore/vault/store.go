package vault

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/parlae/sikka-connect/secretstore"
)

var _ secretstore.Store = (*Store)(nil)

// maxRaces bounds how often a Put without IfVersion (or a Restore) retries
// after losing a race to a concurrent writer of the same secret.
const maxRaces = 32

// Store is a secretstore.Store on a Vault KV v2 mount. It is safe for
// concurrent use. IfVersion is an exact check-and-set (Vault's cas option),
// across processes too.
type Store struct {
	cfg       Config
	client    *api.Client
	kv        *api.KVv2
	approle   *approle // nil with token auth
	log       *slog.Logger
	refPrefix string // "<mount>/data/" + "<prefix>/" when set
}

// New returns a Store for cfg. It does not contact Vault; with AppRole, the
// first call logs in. Errors are configuration errors.
func New(cfg Config) (*Store, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	apiCfg := api.DefaultConfig()
	if apiCfg.Error != nil {
		return nil, fmt.Errorf("secretstore/vault: client config: %w", apiCfg.Error)
	}
	apiCfg.Address = cfg.Address
	apiCfg.Timeout = cfg.Timeout
	if cfg.TLS != nil {
		if err := apiCfg.ConfigureTLS(cfg.TLS); err != nil {
			return nil, fmt.Errorf("secretstore/vault: TLS config: %w", err)
		}
	}
	client, err := api.NewClient(apiCfg)
	if err != nil {
		return nil, fmt.Errorf("secretstore/vault: client: %w", err)
	}
	client.ClearToken() // NewClient picks up VAULT_TOKEN; only cfg decides.
	s := &Store{
		cfg:       cfg,
		client:    client,
		kv:        client.KVv2(cfg.Mount),
		log:       cfg.Logger,
		refPrefix: cfg.Mount + "/data/",
	}
	if cfg.Prefix != "" {
		s.refPrefix += cfg.Prefix + "/"
	}
	if cfg.Token != "" {
		client.SetToken(cfg.Token)
		return s, nil
	}
	login, err := client.Clone()
	if err != nil {
		return nil, fmt.Errorf("secretstore/vault: login client: %w", err)
	}
	login.ClearToken()
	s.approle = &approle{
		client: client,
		login:  login,
		path:   "auth/" + cfg.AppRoleMount + "/login",
		roleID: cfg.RoleID,
		secret: cfg.SecretID,
		log:    cfg.Logger,
	}
	return s, nil
}

// Ref returns the reference of the secret called name: its KV v2 API path
// "<mount>/data/[<prefix>/]<name>", the path Vault policies are written
// against.
func (s *Store) Ref(name string) string { return s.refPrefix + name }

// path is the secret's path inside the mount.
func (s *Store) path(name string) string {
	if s.cfg.Prefix == "" {
		return name
	}
	return s.cfg.Prefix + "/" + name
}

// nameOf accepts a name or a reference of this store and returns the name.
func (s *Store) nameOf(nameOrRef string) (string, error) {
	name := nameOrRef
	if rest, ok := strings.CutPrefix(nameOrRef, s.refPrefix); ok {
		name = rest
	} else if strings.HasPrefix(nameOrRef, s.cfg.Mount+"/data/") {
		return "", fmt.Errorf("%w: %q is a reference outside this store (references start with %q)",
			secretstore.ErrInvalidName, nameOrRef, s.refPrefix)
	}
	if err := secretstore.ValidateName(name); err != nil {
		return "", err
	}
	return name, nil
}

// start validates nameOrRef, bounds ctx with the timeout and checks it.
func (s *Store) start(ctx context.Context, op, nameOrRef string) (context.Context, context.CancelFunc, string, error) {
	name, err := s.nameOf(nameOrRef)
	if err != nil {
		return nil, nil, "", fmt.Errorf("secretstore/vault: %s: %w", op, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, "", fmt.Errorf("secretstore/vault: %s %q: %w", op, name, err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	return ctx, cancel, name, nil
}

// fail wraps err with the operation and name; when ctx is done, the context
// error is wrapped too so errors.Is finds it.
func fail(ctx context.Context, op, name string, err error) error {
	if ce := ctx.Err(); ce != nil && !errors.Is(err, ce) {
		return fmt.Errorf("secretstore/vault: %s %q: %w: %w", op, name, ce, err)
	}
	return fmt.Errorf("secretstore/vault: %s %q: %w", op, name, err)
}

// Put implements secretstore.Store. Every write is a check-and-set against
// the version read just before, so Receipt.Previous is exact; without
// IfVersion, a lost race is retried.
func (s *Store) Put(ctx context.Context, name string, c secretstore.Credentials, opts ...secretstore.PutOption) (secretstore.Receipt, error) {
	if strings.HasPrefix(name, s.cfg.Mount+"/data/") {
		return secretstore.Receipt{}, fmt.Errorf("secretstore/vault: put: %w: a name may not start with %q, which marks references",
			secretstore.ErrInvalidName, s.cfg.Mount+"/data/")
	}
	ctx, cancel, name, err := s.start(ctx, "put", name)
	if err != nil {
		return secretstore.Receipt{}, err
	}
	defer cancel()
	data, err := toMap(c)
	if err != nil {
		return secretstore.Receipt{}, fail(ctx, "put", name, err)
	}
	o := secretstore.NewPutOptions(opts...)
	r, err := s.write(ctx, name, data, o)
	if err != nil {
		return secretstore.Receipt{}, fail(ctx, "put", name, err)
	}
	s.log.DebugContext(ctx, "secretstore/vault: put", "name", name, "version", r.Version, "previous", r.Previous)
	return r, nil
}

// current returns the current version number (0 when the secret has no
// metadata) and whether that version holds a value: a soft-deleted or
// destroyed current version does not, and counts as absent.
func (s *Store) current(ctx context.Context, name string) (int, bool, error) {
	var md *api.KVMetadata
	err := s.call(ctx, func(ctx context.Context) (err error) {
		md, err = s.kv.GetMetadata(ctx, s.path(name))
		return err
	})
	if errors.Is(err, api.ErrSecretNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	v, ok := md.Versions[strconv.Itoa(md.CurrentVersion)]
	deleted := !v.DeletionTime.IsZero() && !v.DeletionTime.After(time.Now())
	return md.CurrentVersion, ok && md.CurrentVersion > 0 && !deleted && !v.Destroyed, nil
}

// write stores data as the new current version with Vault's cas option set
// to the version read just before.
func (s *Store) write(ctx context.Context, name string, data map[string]any, o secretstore.PutOptions) (secretstore.Receipt, error) {
	for race := 0; ; race++ {
		cur, live, err := s.current(ctx, name)
		if err != nil {
			return secretstore.Receipt{}, err
		}
		previous := ""
		if live {
			previous = strconv.Itoa(cur)
		}
		if o.CheckVersion && o.IfVersion != previous {
			return secretstore.Receipt{}, fmt.Errorf("current version is not %q: %w", o.IfVersion, secretstore.ErrVersionConflict)
		}
		var res *api.KVSecret
		err = s.call(ctx, func(ctx context.Context) (err error) {
			res, err = s.kv.Put(ctx, s.path(name), data, api.WithCheckAndSet(cur))
			return err
		})
		if err == nil {
			if res.VersionMetadata == nil {
				return secretstore.Receipt{}, errors.New("vault returned no version metadata")
			}
			return secretstore.Receipt{Ref: s.Ref(name), Version: strconv.Itoa(res.VersionMetadata.Version), Previous: previous}, nil
		}
		if !isStatus(err, http.StatusBadRequest) {
			return secretstore.Receipt{}, err
		}
		// A 400 to a cas write: a concurrent writer moved the version, or
		// the request was bad for another reason.
		now, _, err2 := s.current(ctx, name)
		if err2 != nil {
			return secretstore.Receipt{}, errors.Join(err, err2)
		}
		if now == cur {
			return secretstore.Receipt{}, err
		}
		if o.CheckVersion {
			return secretstore.Receipt{}, fmt.Errorf("a concurrent write changed the version: %w", secretstore.ErrVersionConflict)
		}
		if race >= maxRaces {
			return secretstore.Receipt{}, fmt.Errorf("lost %d races to concurrent writers: %w", race+1, secretstore.ErrVersionConflict)
		}
	}
}

// Get implements secretstore.Store. nameOrRef is a name or a reference as
// returned by Ref.
func (s *Store) Get(ctx context.Context, nameOrRef string) (secretstore.Secret, error) {
	ctx, cancel, name, err := s.start(ctx, "get", nameOrRef)
	if err != nil {
		return secretstore.Secret{}, err
	}
	defer cancel()
	var kvs *api.KVSecret
	err = s.call(ctx, func(ctx context.Context) (err error) {
		kvs, err = s.kv.Get(ctx, s.path(name))
		return err
	})
	if errors.Is(err, api.ErrSecretNotFound) || err == nil && (kvs.Data == nil || kvs.VersionMetadata == nil) {
		return secretstore.Secret{}, fail(ctx, "get", name, secretstore.ErrNotFound)
	}
	if err != nil {
		return secretstore.Secret{}, fail(ctx, "get", name, err)
	}
	c, err := fromMap(kvs.Data)
	if err != nil {
		return secretstore.Secret{}, fail(ctx, "get", name, err)
	}
	return secretstore.Secret{Ref: s.Ref(name), Version: strconv.Itoa(kvs.VersionMetadata.Version), Credentials: c}, nil
}

// Delete implements secretstore.Store: it deletes the metadata, and so every
// version, at once. Vault keeps no recovery copy.
func (s *Store) Delete(ctx context.Context, nameOrRef string) error {
	ctx, cancel, name, err := s.start(ctx, "delete", nameOrRef)
	if err != nil {
		return err
	}
	defer cancel()
	cur, _, err := s.current(ctx, name)
	if err != nil {
		return fail(ctx, "delete", name, err)
	}
	if cur == 0 {
		return fail(ctx, "delete", name, secretstore.ErrNotFound)
	}
	err = s.call(ctx, func(ctx context.Context) error {
		return s.kv.DeleteMetadata(ctx, s.path(name))
	})
	if err != nil {
		return fail(ctx, "delete", name, err)
	}
	s.log.DebugContext(ctx, "secretstore/vault: delete", "name", name)
	return nil
}

// Restore implements secretstore.Store: it reads the old version and writes
// its value as the new current version (a check-and-set against the version
// it replaces).
func (s *Store) Restore(ctx context.Context, nameOrRef string, version string) error {
	ctx, cancel, name, err := s.start(ctx, "restore", nameOrRef)
	if err != nil {
		return err
	}
	defer cancel()
	v, err := strconv.Atoi(version)
	if err != nil || v <= 0 {
		return fail(ctx, "restore", name, fmt.Errorf("version %q: %w", version, secretstore.ErrNotFound))
	}
	var old *api.KVSecret
	err = s.call(ctx, func(ctx context.Context) (err error) {
		old, err = s.kv.GetVersion(ctx, s.path(name), v)
		return err
	})
	if errors.Is(err, api.ErrSecretNotFound) || err == nil && old.Data == nil {
		return fail(ctx, "restore", name, fmt.Errorf("version %d: %w", v, secretstore.ErrNotFound))
	}
	if err != nil {
		return fail(ctx, "restore", name, err)
	}
	r, err := s.write(ctx, name, old.Data, secretstore.PutOptions{})
	if err != nil {
		return fail(ctx, "restore", name, err)
	}
	s.log.DebugContext(ctx, "secretstore/vault: restore", "name", name, "from", v, "version", r.Version)
	return nil
}

// toMap turns c into the KV data: the storage JSON's fields.
func toMap(c secretstore.Credentials) (map[string]any, error) {
	b, err := secretstore.EncodeCredentials(c)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%w: re-reading the encoding failed", secretstore.ErrMalformed)
	}
	return m, nil
}

func fromMap(m map[string]any) (secretstore.Credentials, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return secretstore.Credentials{}, fmt.Errorf("%w: KV data is not JSON-encodable", secretstore.ErrMalformed)
	}
	return secretstore.DecodeCredentials(b)
}
