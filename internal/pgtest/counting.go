package pgtest

import (
	"bytes"
	"context"
	"database/sql"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// Statements counts the statements a pool sends to PostgreSQL: each Parse
// message (a statement with parameters) and each simple Query message, as
// lib/pq writes them, which is what the server's statement log would show.
type Statements struct {
	mu   sync.Mutex
	sent []string
}

// Reset forgets the statements counted so far.
func (s *Statements) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sent = nil
}

// Sent returns the statements sent since the last Reset, in order.
func (s *Statements) Sent() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.sent...)
}

func (s *Statements) record(p []byte) {
	if len(p) < 5 {
		return
	}
	var text []byte
	switch p[0] {
	case 'P': // Parse: int32 length, statement name\0, query\0, …
		body := p[5:]
		if i := bytes.IndexByte(body, 0); i >= 0 {
			body = body[i+1:]
		}
		text, _, _ = bytes.Cut(body, []byte{0})
	case 'Q': // simple Query: int32 length, query\0
		text, _, _ = bytes.Cut(p[5:], []byte{0})
	default:
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sent = append(s.sent, string(text))
}

// CountingDB returns a pool on a new schema of its own (see URL) whose
// statements are counted, closed at the end of the test.
func CountingDB(t testing.TB) (*sqlx.DB, *Statements) {
	t.Helper()
	connector, err := pq.NewConnector(URL(t))
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	st := &Statements{}
	connector.Dialer(countingDialer{st: st})
	db := sqlx.NewDb(sql.OpenDB(connector), "postgres")
	t.Cleanup(func() { db.Close() })
	return db, st
}

type countingDialer struct {
	d  net.Dialer
	st *Statements
}

func (c countingDialer) Dial(network, address string) (net.Conn, error) {
	return c.DialContext(context.Background(), network, address)
}

func (c countingDialer) DialTimeout(network, address string, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return c.DialContext(ctx, network, address)
}

func (c countingDialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	conn, err := c.d.DialContext(ctx, network, address)
	if err != nil {
		return nil, err
	}
	return countingConn{Conn: conn, st: c.st}, nil
}

type countingConn struct {
	net.Conn
	st *Statements
}

func (c countingConn) Write(p []byte) (int, error) {
	c.st.record(p)
	return c.Conn.Write(p)
}
