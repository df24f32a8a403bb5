package vault

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/hashicorp/vault/api"
)

// approle keeps an AppRole login current: it logs in when there is no token
// yet or when 4/5 of the token's TTL have passed, and again after a 403.
type approle struct {
	client *api.Client // the store's client; approle sets its token
	login  *api.Client // a token-less clone used only to log in
	path   string      // auth/<mount>/login
	roleID string
	secret string
	log    logger

	mu       sync.Mutex
	gen      uint64    // incremented on every successful login
	loggedIn bool      // a token is set
	renewAt  time.Time // log in again after this; zero = token does not expire
}

type logger interface {
	InfoContext(ctx context.Context, msg string, args ...any)
	WarnContext(ctx context.Context, msg string, args ...any)
}

// token makes sure a usable token is set and returns its generation.
func (a *approle) token(ctx context.Context) (uint64, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.loggedIn && (a.renewAt.IsZero() || time.Now().Before(a.renewAt)) {
		return a.gen, nil
	}
	reason := "initial"
	if a.loggedIn {
		reason = "token TTL nearly over"
	}
	return a.gen, a.loginLocked(ctx, reason)
}

// relogin logs in again unless another caller already did since generation
// seen.
func (a *approle) relogin(ctx context.Context, seen uint64) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.gen != seen {
		return nil
	}
	return a.loginLocked(ctx, "vault answered 403")
}

func (a *approle) loginLocked(ctx context.Context, reason string) error {
	start := time.Now()
	secret, err := a.login.Logical().WriteWithContext(ctx, a.path, map[string]any{
		"role_id":   a.roleID,
		"secret_id": a.secret,
	})
	if err != nil {
		return fmt.Errorf("approle login at %s: %w", a.path, err)
	}
	if secret == nil || secret.Auth == nil || secret.Auth.ClientToken == "" {
		return fmt.Errorf("approle login at %s: the response has no token", a.path)
	}
	a.client.SetToken(secret.Auth.ClientToken)
	a.gen++
	a.loggedIn = true
	a.renewAt = time.Time{}
	ttl := time.Duration(secret.Auth.LeaseDuration) * time.Second
	if ttl > 0 {
		a.renewAt = start.Add(ttl * 4 / 5)
	}
	a.log.InfoContext(ctx, "secretstore/vault: approle login", "reason", reason, "ttl", ttl)
	return nil
}

// call runs fn with a current token; with AppRole, a 403 answer leads to one
// new login and one retry.
func (s *Store) call(ctx context.Context, fn func(context.Context) error) error {
	if s.approle == nil {
		return fn(ctx)
	}
	gen, err := s.approle.token(ctx)
	if err != nil {
		return err
	}
	err = fn(ctx)
	if !isStatus(err, http.StatusForbidden) {
		return err
	}
	s.log.WarnContext(ctx, "secretstore/vault: permission denied; logging in again", "status", http.StatusForbidden)
	if err := s.approle.relogin(ctx, gen); err != nil {
		return err
	}
	return fn(ctx)
}

func isStatus(err error, code int) bool {
	var re *api.ResponseError
	return errors.As(err, &re) && re.StatusCode == code
}
