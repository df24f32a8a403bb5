// Package faultproxy puts a proxy between a program under test and a server
// it depends on (PostgreSQL, Vault, an HTTP API), so that a test can make the
// dependency fail the ways networks and servers fail — refuse connections,
// stop answering, answer slowly, drop the connections it has, answer an error
// status — and then heal it, without touching either side.
//
// Proxy works on TCP and suits any protocol (PostgreSQL). HTTP adds, in
// front of an HTTP server (Vault), rules that answer an injected status,
// delay, or lose the answer of a request that took effect; its TCP faults
// are those of the Proxy it is built on.
//
// Everything listens on 127.0.0.1 only. A Proxy keeps its address for its
// whole life (Refuse closes the listener, Heal listens again on the same
// port), so the program under test never needs reconfiguring.
package faultproxy

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// Proxy forwards every TCP connection made to Addr to the target address.
// Its faults apply until Heal; they combine (latency and blackhole, say).
// Safe for concurrent use.
type Proxy struct {
	target string
	addr   string

	mu        sync.Mutex
	cond      *sync.Cond // broadcast when blackhole ends, a conn closes, or the proxy closes
	ln        net.Listener
	blackhole bool
	latency   time.Duration
	conns     map[*pconn]struct{}
	accepted  int
	closed    bool
	wg        sync.WaitGroup
}

// pconn is one client connection and, once dialled, its upstream.
type pconn struct {
	client   net.Conn
	upstream net.Conn // set under Proxy.mu
	closed   bool     // under Proxy.mu
}

// New starts a proxy on a free 127.0.0.1 port that forwards to target
// ("host:port"). The target need not be up: a connection made while it is
// down is closed at once, as a refused dial would look to a client that got
// through.
func New(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("faultproxy: listen: %w", err)
	}
	p := &Proxy{target: target, addr: ln.Addr().String(), conns: map[*pconn]struct{}{}}
	p.cond = sync.NewCond(&p.mu)
	p.ln = ln
	p.wg.Add(1)
	go p.serve(ln)
	return p, nil
}

// Addr is the proxy's "127.0.0.1:port", fixed for its life.
func (p *Proxy) Addr() string { return p.addr }

// Target is the address the proxy forwards to.
func (p *Proxy) Target() string { return p.target }

// Refuse closes the listener: from now on a connection attempt gets
// ECONNREFUSED, as from a stopped server. Connections already open are left
// alone (CloseConns drops them).
func (p *Proxy) Refuse() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return net.ErrClosed
	}
	if p.ln == nil {
		return nil
	}
	err := p.ln.Close()
	p.ln = nil
	return err
}

// Blackhole makes the proxy accept connections and never answer them, and
// stops forwarding on the connections already open, in both directions:
// the peers see a server that hangs. Bytes are held, not lost: Heal lets
// them through, CloseConns drops the connections instead.
func (p *Proxy) Blackhole() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.blackhole = true
}

// SetLatency makes every chunk of bytes forwarded, in either direction,
// wait d first (0 removes it): a slow network or a slow server.
func (p *Proxy) SetLatency(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.latency = d
}

// CloseConns closes every open connection, on both sides, as a server
// restart or a network reset does, and returns how many there were.
func (p *Proxy) CloseConns() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for c := range p.conns {
		p.closeLocked(c)
		n++
	}
	return n
}

// Heal ends every fault: the proxy listens again (on the same port) if it
// refused, forwards what a blackhole held, and drops the latency.
func (p *Proxy) Heal() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return net.ErrClosed
	}
	p.blackhole = false
	p.latency = 0
	p.cond.Broadcast()
	if p.ln != nil {
		return nil
	}
	var ln net.Listener
	var err error
	// The port was ours a moment ago; a short retry covers a slow release.
	for i := 0; i < 50; i++ {
		if ln, err = net.Listen("tcp", p.addr); err == nil {
			break
		}
		p.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
		p.mu.Lock()
	}
	if err != nil {
		return fmt.Errorf("faultproxy: listen again on %s: %w", p.addr, err)
	}
	p.ln = ln
	p.wg.Add(1)
	go p.serve(ln)
	return nil
}

// Conns returns how many connections are open now.
func (p *Proxy) Conns() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.conns)
}

// Accepted returns how many connections the proxy has accepted in all.
func (p *Proxy) Accepted() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.accepted
}

// Close stops the proxy and closes every connection; it waits for its
// goroutines to end.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		p.closeLocked(c)
	}
	p.cond.Broadcast()
	p.mu.Unlock()
	p.wg.Wait()
	return nil
}

func (p *Proxy) serve(ln net.Listener) {
	defer p.wg.Done()
	for {
		conn, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(5 * time.Millisecond) // EMFILE and the like: do not spin
			continue
		}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			conn.Close()
			return
		}
		c := &pconn{client: conn}
		p.conns[c] = struct{}{}
		p.accepted++
		p.wg.Add(1)
		p.mu.Unlock()
		go p.handle(c)
	}
}

func (p *Proxy) closeLocked(c *pconn) {
	if c.closed {
		return
	}
	c.closed = true
	c.client.Close()
	if c.upstream != nil {
		c.upstream.Close()
	}
	delete(p.conns, c)
	p.cond.Broadcast()
}

// gate waits while the proxy blackholes, then returns the latency to apply;
// ok is false when c or the proxy closed meanwhile.
func (p *Proxy) gate(c *pconn) (latency time.Duration, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.blackhole && !c.closed && !p.closed {
		p.cond.Wait()
	}
	return p.latency, !c.closed && !p.closed
}

func (p *Proxy) handle(c *pconn) {
	defer p.wg.Done()
	defer func() {
		p.mu.Lock()
		p.closeLocked(c)
		p.mu.Unlock()
	}()
	// A blackhole holds a new connection before it reaches the target.
	if _, ok := p.gate(c); !ok {
		return
	}
	up, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		return // the target is down: the client sees its connection closed
	}
	p.mu.Lock()
	if c.closed {
		p.mu.Unlock()
		up.Close()
		return
	}
	c.upstream = up
	p.mu.Unlock()

	done := make(chan struct{}, 2)
	go func() { p.pipe(c, up, c.client); done <- struct{}{} }()
	go func() { p.pipe(c, c.client, up); done <- struct{}{} }()
	<-done // either side ending ends the connection (the defer closes both)
	p.mu.Lock()
	p.closeLocked(c)
	p.mu.Unlock()
	<-done
}

// pipe copies src to dst chunk by chunk, each chunk passing the gate.
func (p *Proxy) pipe(c *pconn, dst io.Writer, src io.Reader) {
	buf := make([]byte, 32*1024)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			latency, ok := p.gate(c)
			if !ok {
				return
			}
			if latency > 0 {
				time.Sleep(latency)
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
