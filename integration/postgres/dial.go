package postgres

import (
	"context"
	"database/sql"
	"net"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// DefaultIOTimeout is how long a connection opened by Open waits for
// PostgreSQL to answer (or to take what it is sent) before it gives up.
const DefaultIOTimeout = 10 * time.Second

// Option changes how Open connects.
type Option func(*options)

type options struct {
	ioTimeout time.Duration
}

// WithIOTimeout sets how long one read or write on a database connection may
// wait; 0 or less means no limit. Default DefaultIOTimeout.
//
// lib/pq cannot otherwise give up on a server that stopped answering: a done
// context makes it send a cancel request, to the same silent server, and go on
// waiting. The timeout turns such a server into an error (the connection is
// then discarded), so every query ends. The project's queries are short:
// choose it well above your database's slowest answer under load.
func WithIOTimeout(d time.Duration) Option { return func(o *options) { o.ioTimeout = d } }

// openDB opens a sqlx pool whose connections time out reads and writes.
func openDB(url string, o options) (*sqlx.DB, error) {
	connector, err := pq.NewConnector(url)
	if err != nil {
		return nil, err
	}
	if o.ioTimeout > 0 {
		connector.Dialer(timeoutDialer{timeout: o.ioTimeout})
	}
	return sqlx.NewDb(sql.OpenDB(connector), "postgres"), nil
}

// timeoutDialer dials like lib/pq's default dialer and wraps each
// connection in a timeoutConn.
type timeoutDialer struct {
	d       net.Dialer
	timeout time.Duration
}

func (t timeoutDialer) Dial(network, address string) (net.Conn, error) {
	return t.DialContext(context.Background(), network, address)
}

func (t timeoutDialer) DialTimeout(network, address string, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return t.DialContext(ctx, network, address)
}

func (t timeoutDialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	c, err := t.d.DialContext(ctx, network, address)
	if err != nil {
		return nil, err
	}
	return &timeoutConn{Conn: c, timeout: t.timeout}, nil
}

// timeoutConn gives every Read and Write its own deadline. The driver only
// reads when it waits for an answer, so an idle pooled connection is never
// affected.
type timeoutConn struct {
	net.Conn
	timeout time.Duration
}

func (c *timeoutConn) Read(b []byte) (int, error) {
	if err := c.Conn.SetReadDeadline(time.Now().Add(c.timeout)); err != nil {
		return 0, err
	}
	return c.Conn.Read(b)
}

func (c *timeoutConn) Write(b []byte) (int, error) {
	if err := c.Conn.SetWriteDeadline(time.Now().Add(c.timeout)); err != nil {
		return 0, err
	}
	return c.Conn.Write(b)
}
