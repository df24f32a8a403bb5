package secretstore

import (
	"context"
	"errors"
)

// Errors every Store returns, matched with errors.Is. Backends wrap them
// with the operation and the secret's name, never with its value.
var (
	// ErrNotFound means the secret (or the requested version of it) does
	// not exist. Get, Delete and Restore return it; callers undoing a write
	// treat it as "already gone".
	ErrNotFound = errors.New("secretstore: secret not found")

	// ErrVersionConflict means an IfVersion precondition did not hold: the
	// current version was not the expected one. Nothing was written.
	ErrVersionConflict = errors.New("secretstore: version conflict")

	// ErrInvalidName means a secret name, account id, reference or name
	// template was rejected before it reached a backend. The wrapping
	// message says what is allowed.
	ErrInvalidName = errors.New("secretstore: invalid name")

	// ErrMalformed means a stored value could not be decoded as
	// Credentials. The message never quotes the stored bytes.
	ErrMalformed = errors.New("secretstore: malformed stored credentials")
)

// Store keeps practice credentials under names. Implementations are safe for
// concurrent use by multiple goroutines.
//
// Names are validated with ValidateName (ErrInvalidName otherwise). A
// reference (Receipt.Ref, Secret.Ref) is the backend's own stable address of
// a secret (a Vault path, an ARN); every method that takes nameOrRef accepts
// either. Failures other than the sentinel errors are system failures,
// wrapped with %w (so errors.Is(err, context.Canceled) works) and carrying the
// name at most, never the value.
type Store interface {
	// Put creates the secret called name, or overwrites it in place: same
	// Ref, a new Version. Receipt.Previous is the version that was current
	// before the write, or "" when Put created the secret. With IfVersion,
	// Put fails with ErrVersionConflict unless the precondition holds.
	Put(ctx context.Context, name string, c Credentials, opts ...PutOption) (Receipt, error)

	// Get returns the current version of the secret named or referenced by
	// nameOrRef, or ErrNotFound. It never returns a zero Secret with a nil
	// error.
	Get(ctx context.Context, nameOrRef string) (Secret, error)

	// Delete removes the secret and all its versions (backends with a
	// recovery window schedule the deletion; the secret is gone for Get at
	// once). A secret that does not exist gives ErrNotFound, which callers
	// cleaning up treat as done.
	Delete(ctx context.Context, nameOrRef string) error

	// Restore makes the value of an earlier version current again, as a new
	// version (the undo of an overwrite). ErrNotFound when the secret or that
	// version does not exist.
	Restore(ctx context.Context, nameOrRef string, version string) error
}

// Secret is one version of a stored secret as Get returns it. Its fmt, JSON
// and slog renderings redact the keys, like those of Credentials.
type Secret struct {
	// Ref is the backend's stable reference: what the database keeps.
	Ref string
	// Version identifies this version; opaque, comparable for equality.
	Version string
	Credentials
}

// Receipt tells what Put did.
type Receipt struct {
	// Ref is the secret's stable reference (unchanged by overwrites).
	Ref string
	// Version is the version Put wrote.
	Version string
	// Previous is the version that was current before Put, or "" when Put
	// created the secret. Undo a Put with Delete when Previous is "", else
	// with Restore(name, Previous).
	Previous string
}

// PutOption changes one Put call.
type PutOption func(*PutOptions)

// PutOptions is the result of applying PutOptions; backends read it through
// NewPutOptions.
type PutOptions struct {
	// CheckVersion is true when IfVersion was given.
	CheckVersion bool
	// IfVersion is the version that must be current; "" means the secret
	// must not exist.
	IfVersion string
}

// IfVersion makes Put a check-and-set: it writes only if the current version
// is v, or, when v is "", only if the secret does not exist; otherwise it
// fails with ErrVersionConflict. How strong the check is across processes is
// documented by each backend.
func IfVersion(v string) PutOption {
	return func(o *PutOptions) {
		o.CheckVersion = true
		o.IfVersion = v
	}
}

// NewPutOptions applies opts in order and returns the result.
func NewPutOptions(opts ...PutOption) PutOptions {
	var o PutOptions
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	return o
}
