package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// The production-shaped network (-prod, prod.go): every fake behind TLS
// with a certificate of a CA made for the run, which the bot trusts
// through SSL_CERT_FILE (crypto/x509 reads it on Linux); a one-way delay on
// every byte each way, handshakes included; and the fakes closing
// connections left idle, as Slack's and Plivo's front ends do.
//
// The delay sits under TLS, on the server's side of each connection: what
// the bot sends reaches the fake's TLS and HTTP code oneWay after it was
// written, and what the fake writes reaches the bot oneWay after. On
// loopback the bot's connect() returns at once, where on a network it waits
// for the SYN's answer, one round trip: the first bytes of a connection
// (TLS's ClientHello) wait two one-way delays more, so that a new
// connection costs what it costs on a network, TCP's round trip and TLS
// 1.3's, before the request's own.

// testCA is a certificate authority made for one run, and the certificate
// it signed for 127.0.0.1 that the fakes serve.
type testCA struct {
	certFile string // the CA's certificate, PEM: the bot's SSL_CERT_FILE
	pool     *x509.CertPool
	serving  tls.Certificate
}

// newTestCA makes a CA and a serving certificate for 127.0.0.1, valid for a
// day, and writes the CA's certificate into dir.
func newTestCA(dir string) (*testCA, error) {
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "coldtransfer load test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("test CA: %w", err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:     []string{"localhost"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("serving certificate: %w", err)
	}
	certFile := filepath.Join(dir, "test-ca.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o644); err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return &testCA{certFile: certFile, pool: pool, serving: tls.Certificate{Certificate: [][]byte{leafDER}, PrivateKey: key}}, nil
}

// prodNet is how the bot reaches one world's fakes in production mode.
type prodNet struct {
	ca           *testCA
	slack, plivo time.Duration // one-way delays
	idle         time.Duration // the fakes close connections idle this long
	slackConns   *connLog      // connections the fake Slack accepted (Web API and websocket)
	plivoConns   *connLog      // connections the fake Plivo accepted
}

func newProdNet(ca *testCA, slack, plivo, idle time.Duration) *prodNet {
	return &prodNet{ca: ca, slack: slack, plivo: plivo, idle: idle, slackConns: &connLog{}, plivoConns: &connLog{}}
}

// start returns a fake's start (fakeslack.Options.Start,
// fakeplivo.NewStartedBy): a delay of oneWay each way, the idle time-out,
// TLS with the test CA's certificate.
func (n *prodNet) start(oneWay time.Duration, conns *connLog) func(*httptest.Server) {
	return func(hs *httptest.Server) {
		hs.Listener = &delayListener{Listener: hs.Listener, oneWay: oneWay, log: conns}
		hs.Config.IdleTimeout = n.idle
		// A bot reconnecting while the run ends meets a closed server
		// mid-handshake: not worth a line.
		hs.Config.ErrorLog = log.New(io.Discard, "", 0)
		hs.TLS = &tls.Config{Certificates: []tls.Certificate{n.ca.serving}}
		hs.StartTLS()
	}
}

// connLog records when a fake accepted each connection.
type connLog struct {
	mu       sync.Mutex
	accepted []time.Time
}

func (l *connLog) add(t time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.accepted = append(l.accepted, t)
}

// between counts the connections accepted in [from, to].
func (l *connLog) between(from, to time.Time) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, t := range l.accepted {
		if !t.Before(from) && !t.After(to) {
			n++
		}
	}
	return n
}

// delayListener hands out connections that are oneWay away.
type delayListener struct {
	net.Listener
	oneWay time.Duration
	log    *connLog
}

func (l *delayListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	if l.log != nil {
		l.log.add(time.Now())
	}
	return newDelayConn(c, l.oneWay), nil
}

// delayConn is the server's end of a connection whose other end is oneWay
// away: a read returns bytes oneWay after they arrived (the first ones two
// one-way delays later still, for the TCP handshake), a write and a close
// reach the peer oneWay after they were made. Writes never block (the
// queue is not bounded: the fakes' answers are small), and read deadlines
// are honoured, as net/http's server needs them (its idle time-out, its
// background read).
type delayConn struct {
	net.Conn // the connection as accepted on loopback

	in, out *delayLine
	closed  chan struct{} // closed by Close: reads end
	once    sync.Once

	mu   sync.Mutex // one reader at a time; guards rest
	rest []byte     // the unread part of the chunk being read

	writeErr error // set once by send, under out.mu
}

// errClosing marks the end of the outbound line: the connection closes
// when it comes due.
var errClosing = errors.New("closing")

func newDelayConn(c net.Conn, oneWay time.Duration) *delayConn {
	d := &delayConn{Conn: c, in: newDelayLine(oneWay), out: newDelayLine(oneWay), closed: make(chan struct{})}
	go d.receive(oneWay)
	go d.send()
	return d
}

// receive reads what the peer sends, into the inbound line.
func (d *delayConn) receive(oneWay time.Duration) {
	handshake := 2 * oneWay // the SYN and its answer, which loopback skipped
	buf := make([]byte, 32<<10)
	for {
		n, err := d.Conn.Read(buf)
		if n > 0 {
			d.in.put(append([]byte(nil), buf[:n]...), nil, handshake)
			handshake = 0
		}
		if err != nil {
			d.in.put(nil, err, 0)
			return
		}
	}
}

// send writes the outbound line to the peer as it comes due, and closes
// the connection when the close does (or a write fails).
func (d *delayConn) send() {
	defer d.Conn.Close()
	for {
		c, err := d.out.take(nil)
		if err != nil || c.err != nil {
			return
		}
		if _, err := d.Conn.Write(c.data); err != nil {
			d.out.mu.Lock()
			d.writeErr = err
			d.out.mu.Unlock()
			return
		}
	}
}

func (d *delayConn) Read(p []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.rest) == 0 {
		c, err := d.in.take(d.closed)
		if err != nil {
			return 0, err
		}
		if c.err != nil {
			return 0, c.err
		}
		d.rest = c.data
	}
	n := copy(p, d.rest)
	d.rest = d.rest[n:]
	return n, nil
}

func (d *delayConn) Write(p []byte) (int, error) {
	select {
	case <-d.closed:
		return 0, net.ErrClosed
	default:
	}
	d.out.mu.Lock()
	err := d.writeErr
	d.out.mu.Unlock()
	if err != nil {
		return 0, err
	}
	d.out.put(append([]byte(nil), p...), nil, 0)
	return len(p), nil
}

// Close ends reads at once; the peer sees the connection close oneWay
// later, after everything written before it.
func (d *delayConn) Close() error {
	d.once.Do(func() {
		close(d.closed)
		d.out.put(nil, errClosing, 0)
	})
	return nil
}

func (d *delayConn) SetDeadline(t time.Time) error { return d.SetReadDeadline(t) }

func (d *delayConn) SetReadDeadline(t time.Time) error {
	d.in.setDeadline(t)
	return nil
}

// SetWriteDeadline is a no-op: writes never block.
func (d *delayConn) SetWriteDeadline(time.Time) error { return nil }

// delayLine is one direction of a connection: chunks come out in order,
// each oneWay (and its extra) after it went in.
type delayLine struct {
	oneWay time.Duration

	mu       sync.Mutex
	q        []chunk
	lastDue  time.Time
	deadline time.Time     // the reading end's deadline; zero: none
	changed  chan struct{} // closed and replaced when q or deadline change
}

// chunk is bytes on their way, or the error (EOF, errClosing) that ends the
// line.
type chunk struct {
	data []byte
	err  error
	due  time.Time
}

func newDelayLine(oneWay time.Duration) *delayLine {
	return &delayLine{oneWay: oneWay, changed: make(chan struct{})}
}

// put sends data (or err) down the line, to come out oneWay+extra from now,
// never before what went in earlier.
func (l *delayLine) put(data []byte, err error, extra time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	due := time.Now().Add(l.oneWay + extra)
	if due.Before(l.lastDue) {
		due = l.lastDue
	}
	l.lastDue = due
	l.q = append(l.q, chunk{data: data, err: err, due: due})
	l.notifyLocked()
}

func (l *delayLine) setDeadline(t time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.deadline = t
	l.notifyLocked()
}

func (l *delayLine) notifyLocked() {
	close(l.changed)
	l.changed = make(chan struct{})
}

// take waits for the next chunk to come due and returns it. An error chunk
// stays in the line, so that every later take returns it too. take gives
// up with os.ErrDeadlineExceeded (a timeout, as net.Conn's) when the
// deadline passes, and with net.ErrClosed when stop is closed.
func (l *delayLine) take(stop <-chan struct{}) (chunk, error) {
	for {
		l.mu.Lock()
		now := time.Now()
		if !l.deadline.IsZero() && !now.Before(l.deadline) {
			l.mu.Unlock()
			return chunk{}, os.ErrDeadlineExceeded
		}
		wait := time.Duration(-1) // forever
		if len(l.q) > 0 {
			c := l.q[0]
			if !now.Before(c.due) {
				if c.err == nil {
					l.q[0] = chunk{}
					l.q = l.q[1:]
				}
				l.mu.Unlock()
				return c, nil
			}
			wait = c.due.Sub(now)
		}
		if !l.deadline.IsZero() {
			if dl := l.deadline.Sub(now); wait < 0 || dl < wait {
				wait = dl
			}
		}
		changed := l.changed
		l.mu.Unlock()

		var timer *time.Timer
		var fired <-chan time.Time
		if wait >= 0 {
			timer = time.NewTimer(wait)
			fired = timer.C
		}
		select {
		case <-fired:
		case <-changed:
		case <-stop:
			if timer != nil {
				timer.Stop()
			}
			return chunk{}, net.ErrClosed
		}
		if timer != nil {
			timer.Stop()
		}
	}
}
