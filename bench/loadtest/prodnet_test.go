package main

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"os"
	"sync/atomic"
	"testing"
	"time"
)

// The delay network's floors are lower bounds (a timer never fires early),
// so they are what these tests hold it to; how late it is depends on the
// machine, and is what the production mode's calibration line reports.

// TestDelayedTLS checks that a request on a new connection through the
// delayed TLS network takes three round trips at least (TCP's, TLS's, its
// own), one on that connection again one at least, and that a connection
// left idle past the server's time-out is closed, so that the next request
// dials.
func TestDelayedTLS(t *testing.T) {
	const oneWay = 20 * time.Millisecond
	ca, err := newTestCA(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	pn := newProdNet(ca, oneWay, oneWay, 300*time.Millisecond)
	var closed atomic.Int32
	hs := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "ok")
	}))
	hs.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateClosed {
			closed.Add(1)
		}
	}
	pn.start(oneWay, pn.slackConns)(hs)
	defer hs.Close()
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.pool}}, Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()

	get := func() (time.Duration, bool) {
		t.Helper()
		var reused bool
		ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused }})
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, hs.URL, nil)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("GET through the delayed network: %v", err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != "ok" {
			t.Fatalf("body %q, want ok", body)
		}
		return time.Since(start), reused
	}
	rtt := 2 * oneWay
	if took, reused := get(); reused || took < 3*rtt {
		t.Errorf("first request: %v (reused %v), want a new connection and at least 3 round trips, %v", took, reused, 3*rtt)
	}
	if took, reused := get(); !reused || took < rtt {
		t.Errorf("second request: %v (reused %v), want the same connection and at least 1 round trip, %v", took, reused, rtt)
	}
	deadline := time.Now().Add(20 * time.Second)
	for closed.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the server never closed the idle connection")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// A GET may be retried on a new connection if it met the closed one
	// first: the last connection it got is a new one either way.
	if took, reused := get(); reused || took < 3*rtt {
		t.Errorf("after the idle time-out: %v (reused %v), want a new connection and at least 3 round trips", took, reused)
	}
	if n := pn.slackConns.between(time.Time{}, time.Now()); n != 2 {
		t.Errorf("%d connections accepted, want 2", n)
	}
}

// TestDelayConn checks the connection's own promises: bytes arrive in
// order and no sooner than the delay, a read deadline (past or future)
// ends a blocked read with a timeout that loses no data, a close reaches
// the peer after everything written before it, and the peer's close is
// read as EOF.
func TestDelayConn(t *testing.T) {
	const oneWay = 20 * time.Millisecond
	client, server := net.Pipe()
	d := newDelayConn(server, oneWay)
	defer client.Close()

	// A read deadline in the past ends a blocked read at once, as
	// net/http's server uses it.
	readErr := make(chan error, 1)
	go func() {
		_, err := d.Read(make([]byte, 1))
		readErr <- err
	}()
	_ = d.SetReadDeadline(time.Unix(1, 0))
	select {
	case err := <-readErr:
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() || !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("read after a past deadline: %v, want a timeout", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("a past deadline did not end the blocked read")
	}
	_ = d.SetReadDeadline(time.Time{})

	sent := time.Now()
	go func() {
		_, _ = client.Write([]byte("hello "))
		_, _ = client.Write([]byte("world"))
	}()
	buf := make([]byte, 0, 16)
	for len(buf) < len("hello world") {
		p := make([]byte, 16)
		n, err := d.Read(p)
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		buf = append(buf, p[:n]...)
	}
	// The first bytes of a connection wait for the TCP handshake too.
	if got := time.Since(sent); string(buf) != "hello world" || got < 3*oneWay {
		t.Errorf("read %q after %v, want \"hello world\" after %v at least", buf, got, 3*oneWay)
	}

	// Written, then closed: the peer reads everything, then EOF, no sooner
	// than the delay.
	wrote := time.Now()
	if _, err := d.Write([]byte("bye")); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(client)
	if string(got) != "bye" || err != nil {
		t.Errorf("peer read %q, %v; want \"bye\" then EOF", got, err)
	}
	if took := time.Since(wrote); took < oneWay {
		t.Errorf("the write arrived after %v, before the delay %v", took, oneWay)
	}
	if _, err := d.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
		t.Errorf("read after Close: %v, want net.ErrClosed", err)
	}
	if _, err := d.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Errorf("write after Close: %v, want net.ErrClosed", err)
	}
}

// TestDelayConnPeerClose checks that the peer's close is read as EOF,
// after the bytes it wrote before it.
func TestDelayConnPeerClose(t *testing.T) {
	client, server := net.Pipe()
	d := newDelayConn(server, time.Millisecond)
	defer d.Close()
	go func() {
		_, _ = client.Write([]byte("last words"))
		client.Close()
	}()
	got, err := io.ReadAll(d)
	if string(got) != "last words" || err != nil {
		t.Errorf("read %q, %v; want \"last words\" then EOF", got, err)
	}
}
