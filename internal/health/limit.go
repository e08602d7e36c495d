package health

import (
	"net"
	"net/http"
	"sync"
)

// limitListener serves at most cap(slots) connections at once.
//
// Past the cap, the next connection is accepted and held until a slot
// frees, rather than closed: a probe refused outright is a failed probe,
// and enough of those restart the pod, while a probe that waits is served
// as soon as a connection ends, which the server's time-outs make a matter
// of seconds. While it waits, every idle keep-alive connection is closed to
// make room, so that connections left open by a scraper or a stranger
// cannot keep a probe waiting until their idle time-out: an HTTP client
// expects a server to close an idle connection at any time and opens a new
// one. Connections behind the held one wait in the kernel's backlog.
type limitListener struct {
	net.Listener
	slots     chan struct{} // a token per connection being served
	done      chan struct{} // closed by Close
	closeOnce sync.Once

	mu      sync.Mutex
	idle    map[*limitedConn]struct{} // served, between two requests
	waiting bool                      // a connection waits for a slot
}

func newLimitListener(ln net.Listener, n int) *limitListener {
	return &limitListener{
		Listener: ln,
		slots:    make(chan struct{}, n),
		done:     make(chan struct{}),
		idle:     make(map[*limitedConn]struct{}),
	}
}

// Accept returns the next connection once there is a slot to serve it.
func (l *limitListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	select {
	case l.slots <- struct{}{}:
	default:
		l.setWaiting(true)
		defer l.setWaiting(false)
		select {
		case l.slots <- struct{}{}:
		case <-l.done:
			c.Close()
			return nil, net.ErrClosed
		}
	}
	return &limitedConn{Conn: c, l: l}, nil
}

// Close stops Accept, including one waiting for a slot.
func (l *limitListener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return l.Listener.Close()
}

// setWaiting records whether a connection waits for a slot, closing the
// idle connections when it starts to.
func (l *limitListener) setWaiting(w bool) {
	l.mu.Lock()
	l.waiting = w
	var idle []*limitedConn
	if w {
		for c := range l.idle {
			idle = append(idle, c)
		}
		clear(l.idle)
	}
	l.mu.Unlock()
	for _, c := range idle {
		c.Close()
	}
}

// track is the server's ConnState hook: it keeps the set of idle
// connections, and closes a connection that turns idle while another waits
// for its slot.
func (l *limitListener) track(nc net.Conn, state http.ConnState) {
	c, ok := nc.(*limitedConn)
	if !ok {
		return
	}
	l.mu.Lock()
	reclaim := false
	switch {
	case state == http.StateIdle && l.waiting:
		reclaim = true
	case state == http.StateIdle:
		l.idle[c] = struct{}{}
	default:
		delete(l.idle, c)
	}
	l.mu.Unlock()
	if reclaim {
		c.Close()
	}
}

// limitedConn gives its slot back when it is closed, however often.
type limitedConn struct {
	net.Conn
	l    *limitListener
	once sync.Once
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { <-c.l.slots })
	return err
}
