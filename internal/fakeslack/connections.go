package fakeslack

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"
)

// Slack's rules for several connections of one app.
const (
	// DefaultMaxConnections is how many Socket Mode connections an app may
	// hold at once; the next is refused with too_many_websockets.
	DefaultMaxConnections = 10
	// DefaultAckTimeout is how long Slack waits for an ack before it
	// redelivers the envelope.
	DefaultAckTimeout = 3 * time.Second
	// maxRetries is how many times an envelope is redelivered at most.
	maxRetries = 3
)

// Delivery is one write of an envelope to a connection.
type Delivery struct {
	Conn         int // the connection's number (see Conns)
	RetryAttempt int
	RetryReason  string
	At           time.Time
}

// pending is an envelope delivered and not acked yet.
type pending struct {
	env   Envelope
	conn  *wsConn
	timer *time.Timer
}

// router picks the connection for each envelope.
type router struct {
	rng *rand.Rand // nil: round-robin
}

func newRouter(seed int64) router {
	if seed == 0 {
		return router{}
	}
	return router{rng: rand.New(rand.NewPCG(uint64(seed), 0x5eed))}
}

// Conns returns the numbers of the live connections (those envelopes may go
// to), oldest first. A connection's number is that of the URL handed out by
// apps.connections.open: 1 for the first.
func (s *Server) Conns() []int {
	s.sm.mu.Lock()
	defer s.sm.mu.Unlock()
	return s.connIDsLocked()
}

// WaitConns waits until at least n connections are live.
func (s *Server) WaitConns(ctx context.Context, n int) error {
	return s.waitSocket(ctx, fmt.Sprintf("%d live connections", n), func(st *socketState) bool { return len(st.live) >= n })
}

// Refused is how many connections were refused with too_many_websockets.
func (s *Server) Refused() int {
	s.sm.mu.Lock()
	defer s.sm.mu.Unlock()
	return s.sm.refused
}

// WaitRefused waits until at least n connections were refused.
func (s *Server) WaitRefused(ctx context.Context, n int) error {
	return s.waitSocket(ctx, fmt.Sprintf("%d refused connections", n), func(st *socketState) bool { return st.refused >= n })
}

func (s *Server) waitSocket(ctx context.Context, what string, cond func(*socketState) bool) error {
	for {
		s.sm.mu.Lock()
		ok, ch := cond(&s.sm), s.sm.changed
		s.sm.mu.Unlock()
		if ok {
			return nil
		}
		if err := s.wait(ctx, ch); err != nil {
			return fmt.Errorf("wait for %s: %w", what, err)
		}
	}
}

// Deliveries returns every write of envelopeID to a connection so far, in
// order: the first, then each redelivery.
func (s *Server) Deliveries(envelopeID string) []Delivery {
	s.ack.mu.Lock()
	defer s.ack.mu.Unlock()
	return append([]Delivery(nil), s.ack.deliveries[envelopeID]...)
}

// pick returns the connection for the next envelope: connection number conn
// when conn > 0 (an error if it is not live), otherwise one of the live
// connections, by round-robin or at random (Options.Seed), avoiding avoid
// when another is live. It waits for a live connection, bounded by ctx.
func (s *Server) pick(ctx context.Context, conn int, avoid *wsConn) (*wsConn, error) {
	for {
		st := &s.sm
		st.mu.Lock()
		if st.closed {
			st.mu.Unlock()
			return nil, ErrClosed
		}
		if conn > 0 {
			c, err := s.connLocked(conn)
			st.mu.Unlock()
			return c, err
		}
		candidates := st.live
		if avoid != nil && len(candidates) > 1 {
			candidates = make([]*wsConn, 0, len(st.live))
			for _, c := range st.live {
				if c != avoid {
					candidates = append(candidates, c)
				}
			}
		}
		if len(candidates) > 0 {
			var c *wsConn
			if s.route.rng != nil {
				c = candidates[s.route.rng.IntN(len(candidates))]
			} else {
				c = candidates[st.next%len(candidates)]
				st.next++
			}
			st.mu.Unlock()
			return c, nil
		}
		changed := st.changed
		st.mu.Unlock()
		if err := s.wait(ctx, changed); err != nil {
			return nil, err
		}
	}
}

// connLocked returns the live connection numbered conn.
func (s *Server) connLocked(conn int) (*wsConn, error) {
	for _, c := range s.sm.live {
		if c.id == conn {
			return c, nil
		}
	}
	return nil, fmt.Errorf("connection #%d is not live (live: %v)", conn, s.connIDsLocked())
}

func (s *Server) connIDsLocked() []int {
	ids := make([]int, len(s.sm.live))
	for i, c := range s.sm.live {
		ids[i] = c.id
	}
	return ids
}

// waitNewest waits for a live connection and returns the newest.
func (s *Server) waitNewest(ctx context.Context) (*wsConn, error) {
	for {
		if c := s.newest(); c != nil {
			return c, nil
		}
		if _, err := s.pick(ctx, 0, nil); err != nil {
			return nil, err
		}
	}
}

// deliverEnvelope writes env to a connection (see pick) and arms its
// redelivery. A write that fails retires that connection and tries another
// one, unless conn named it. sent marks a Send by the test, which restarts
// the ack latency's clock.
func (s *Server) deliverEnvelope(ctx context.Context, conn int, env Envelope, sent bool, avoid ...*wsConn) error {
	data, err := json.Marshal(env)
	if err != nil {
		return fmt.Errorf("encode envelope: %w", err)
	}
	var not *wsConn
	if len(avoid) > 0 {
		not = avoid[0]
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		c, err := s.pick(ctx, conn, not)
		if err != nil {
			return err
		}
		now := time.Now()
		if sent {
			s.ack.mu.Lock()
			s.ack.sentAt[env.EnvelopeID] = now
			s.ack.mu.Unlock()
		}
		// Recorded and armed before the write: the ack may come back before
		// Write returns.
		s.ack.mu.Lock()
		s.ack.deliveries[env.EnvelopeID] = append(s.ack.deliveries[env.EnvelopeID],
			Delivery{Conn: c.id, RetryAttempt: env.RetryAttempt, RetryReason: env.RetryReason, At: now})
		s.ack.mu.Unlock()
		p := s.armRedelivery(env, c)
		if err := c.write(ctx, data); err != nil {
			s.disarm(p)
			s.unrecord(env.EnvelopeID, c.id, now)
			s.sm.retire(c)
			c.close()
			if conn > 0 {
				return err
			}
			continue
		}
		return nil
	}
}

// unrecord removes the delivery of envelopeID to conn at at, whose write
// failed.
func (s *Server) unrecord(envelopeID string, conn int, at time.Time) {
	s.ack.mu.Lock()
	defer s.ack.mu.Unlock()
	ds := s.ack.deliveries[envelopeID]
	for i := len(ds) - 1; i >= 0; i-- {
		if ds[i].Conn == conn && ds[i].At.Equal(at) {
			s.ack.deliveries[envelopeID] = append(ds[:i:i], ds[i+1:]...)
			return
		}
	}
}

// armRedelivery redelivers env to another connection if no ack of it comes
// within Options.AckTimeout, as Slack does.
func (s *Server) armRedelivery(env Envelope, c *wsConn) *pending {
	if s.opts.AckTimeout < 0 || env.EnvelopeID == "" {
		return nil
	}
	a := &s.ack
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return nil
	}
	if old := a.pending[env.EnvelopeID]; old != nil {
		old.timer.Stop()
	}
	p := &pending{env: env, conn: c}
	p.timer = time.AfterFunc(s.opts.AckTimeout, func() { s.redeliver(p) })
	a.pending[env.EnvelopeID] = p
	return p
}

func (s *Server) disarm(p *pending) {
	if p == nil {
		return
	}
	s.ack.mu.Lock()
	defer s.ack.mu.Unlock()
	p.timer.Stop()
	if s.ack.pending[p.env.EnvelopeID] == p {
		delete(s.ack.pending, p.env.EnvelopeID)
	}
}

// redeliver sends p's envelope again, to another connection when there is
// one, with retry_attempt one more and retry_reason "timeout"; Slack gives
// up after maxRetries.
func (s *Server) redeliver(p *pending) {
	a := &s.ack
	a.mu.Lock()
	if a.closed || a.pending[p.env.EnvelopeID] != p {
		a.mu.Unlock()
		return
	}
	delete(a.pending, p.env.EnvelopeID)
	if p.env.RetryAttempt >= maxRetries {
		a.mu.Unlock()
		return
	}
	a.running.Add(1) // under a.mu, and Close sets a.closed under it before waiting
	a.mu.Unlock()
	defer a.running.Done()

	next := p.env
	next.RetryAttempt++
	next.RetryReason = "timeout"
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	_ = s.deliverEnvelope(ctx, 0, next, false, p.conn) // fails only when the server closes or nobody connects
}

// stopRedeliveries stops every pending redelivery and waits for those
// under way.
func (s *Server) stopRedeliveries() {
	a := &s.ack
	a.mu.Lock()
	a.closed = true
	for id, p := range a.pending {
		p.timer.Stop()
		delete(a.pending, id)
	}
	a.mu.Unlock()
	a.running.Wait()
}
