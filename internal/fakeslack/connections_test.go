package fakeslack

import (
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

// replicaBot is a slack-go client that acks every request (unless mute)
// and records the envelope ids it was handed.
type replicaBot struct {
	*bot
	mu   sync.Mutex
	got  []socketmode.Request
	conn int // the server's number of its connection
}

func (r *replicaBot) requests() []socketmode.Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

// startReplicas starts n clients one after the other, each connected
// before the next starts, so that connection i+1 is replica i's.
func startReplicas(t *testing.T, s *Server, n int, mute ...int) []*replicaBot {
	t.Helper()
	ctx := timeout(t, 10*time.Second)
	rs := make([]*replicaBot, n)
	for i := range n {
		r := &replicaBot{bot: startBot(t, s)}
		if err := s.WaitConns(ctx, i+1); err != nil {
			t.Fatal(err)
		}
		r.conn = s.Conns()[i]
		silent := slices.Contains(mute, i)
		go func() {
			for {
				select {
				case evt := <-r.events:
					if evt.Request == nil || evt.Request.EnvelopeID == "" {
						continue
					}
					r.mu.Lock()
					r.got = append(r.got, *evt.Request)
					r.mu.Unlock()
					if !silent {
						_ = r.client.AckCtx(ctx, evt.Request.EnvelopeID, nil)
					}
				case <-ctx.Done():
					return
				}
			}
		}()
		rs[i] = r
	}
	return rs
}

// sendAll sends n slash commands and waits for their acks; it returns the
// connection each went to first.
func sendAll(t *testing.T, s *Server, n int) []int {
	t.Helper()
	ctx := timeout(t, 10*time.Second)
	conns := make([]int, n)
	for i := range n {
		env, err := s.SendSlashCommand(ctx, slack.SlashCommand{ChannelID: "C1", UserID: "U1"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.WaitAck(ctx, env.EnvelopeID); err != nil {
			t.Fatal(err)
		}
		conns[i] = s.Deliveries(env.EnvelopeID)[0].Conn
	}
	return conns
}

func TestEnvelopesSpreadOverConnections(t *testing.T) {
	t.Run("round-robin", func(t *testing.T) {
		s := newServer(t, Options{})
		rs := startReplicas(t, s, 3)
		got := sendAll(t, s, 9)
		c := []int{rs[0].conn, rs[1].conn, rs[2].conn}
		if want := slices.Concat(c, c, c); !slices.Equal(got, want) {
			t.Errorf("envelopes went to connections %v, want %v", got, want)
		}
		for i, r := range rs {
			if n := len(r.requests()); n != 3 {
				t.Errorf("replica %d was handed %d envelopes, want 3", i, n)
			}
		}
	})
	t.Run("seeded random", func(t *testing.T) {
		positions := func(seed int64) []int {
			s := newServer(t, Options{Seed: seed})
			rs := startReplicas(t, s, 3)
			var pos []int
			for _, c := range sendAll(t, s, 30) {
				pos = append(pos, slices.IndexFunc(rs, func(r *replicaBot) bool { return r.conn == c }))
			}
			return pos
		}
		a, b, other := positions(7), positions(7), positions(8)
		if !slices.Equal(a, b) {
			t.Errorf("the same seed routed differently:\n%v\n%v", a, b)
		}
		if slices.Equal(a, other) {
			t.Errorf("seeds 7 and 8 routed 30 envelopes identically: %v", a)
		}
		for i := range 3 {
			if !slices.Contains(a, i) {
				t.Errorf("replica %d got none of 30 envelopes: %v", i, a)
			}
		}
	})
}

// An envelope not acked in time goes to another connection, marked as a
// retry; with one connection only, to the same one.
func TestUnackedEnvelopeIsRedelivered(t *testing.T) {
	s := newServer(t, Options{AckTimeout: 200 * time.Millisecond})
	rs := startReplicas(t, s, 2, 0) // replica 0 never acks
	ctx := timeout(t, 10*time.Second)

	cmd, _ := json.Marshal(slack.SlashCommand{Command: "/transfer", ChannelID: "C1", UserID: "U1"})
	env := Envelope{EnvelopeID: "env-1", Type: "slash_commands", Payload: cmd, AcceptsResponsePayload: true}
	if err := s.SendTo(ctx, rs[0].conn, env); err != nil {
		t.Fatal(err)
	}
	ack, err := s.WaitAck(ctx, env.EnvelopeID)
	if err != nil {
		t.Fatal(err)
	}
	want := []Delivery{
		{Conn: rs[0].conn},
		{Conn: rs[1].conn, RetryAttempt: 1, RetryReason: "timeout"},
	}
	got := s.Deliveries(env.EnvelopeID)
	for i := range got {
		got[i].At = time.Time{}
	}
	if !slices.Equal(got, want) {
		t.Errorf("deliveries %+v, want %+v", got, want)
	}
	if reqs := rs[1].requests(); len(reqs) != 1 || reqs[0].RetryAttempt != 1 || reqs[0].RetryReason != "timeout" {
		t.Errorf("the other replica was handed %+v; want the envelope with retry_attempt 1, retry_reason timeout", reqs)
	}
	if ack.Latency < 200*time.Millisecond {
		t.Errorf("ack latency %v counts from the redelivery; want from the Send", ack.Latency)
	}

	// One connection only: the same one gets it again, up to 3 retries.
	single := newServer(t, Options{AckTimeout: 50 * time.Millisecond})
	mute := startReplicas(t, single, 1, 0)[0]
	if err := single.Send(ctx, env); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "three redeliveries", func() bool { return len(single.Deliveries(env.EnvelopeID)) == 4 })
	for i, d := range single.Deliveries(env.EnvelopeID) {
		if d.Conn != mute.conn || d.RetryAttempt != i {
			t.Errorf("delivery %d: %+v, want connection %d, retry_attempt %d", i, d, mute.conn, i)
		}
	}
}

func TestSendToNamesTheConnection(t *testing.T) {
	s := newServer(t, Options{})
	rs := startReplicas(t, s, 2)
	ctx := timeout(t, 10*time.Second)
	for i := range 4 {
		r := rs[i%2]
		env := Envelope{EnvelopeID: fmt.Sprint("to-", i), Type: "events_api", Payload: json.RawMessage(`{}`)}
		if err := s.SendTo(ctx, r.conn, env); err != nil {
			t.Fatal(err)
		}
		if _, err := s.WaitAck(ctx, env.EnvelopeID); err != nil {
			t.Fatal(err)
		}
		if d := s.Deliveries(env.EnvelopeID); len(d) != 1 || d[0].Conn != r.conn {
			t.Errorf("envelope %d delivered %+v, want to connection %d", i, d, r.conn)
		}
	}
	if err := s.SendTo(ctx, 99, Envelope{EnvelopeID: "nowhere"}); err == nil {
		t.Error("SendTo a connection that does not exist succeeded")
	}
}

// rawConn opens a Socket Mode connection with a bare websocket client and
// returns it with its first frame.
func rawConn(t *testing.T, s *Server) (*websocket.Conn, map[string]any) {
	t.Helper()
	ctx := timeout(t, 5*time.Second)
	_, url, err := newAPI(s, botToken).StartSocketModeContext(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ws, _, err := websocket.DefaultDialer.DialContext(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	var frame map[string]any
	if err := ws.ReadJSON(&frame); err != nil {
		t.Fatalf("first frame: %v", err)
	}
	return ws, frame
}

func TestTooManyWebsockets(t *testing.T) {
	s := newServer(t, Options{})
	ctx := timeout(t, 10*time.Second)
	var conns []*websocket.Conn
	for i := range DefaultMaxConnections {
		ws, hello := rawConn(t, s)
		if hello["type"] != "hello" || hello["num_connections"] != float64(i+1) {
			t.Fatalf("connection %d: first frame %v, want hello with num_connections %d", i+1, hello, i+1)
		}
		conns = append(conns, ws)
	}
	if err := s.WaitConns(ctx, DefaultMaxConnections); err != nil {
		t.Fatal(err)
	}

	ws, frame := rawConn(t, s)
	if frame["type"] != "disconnect" || frame["reason"] != "too_many_websockets" {
		t.Errorf("11th connection: first frame %v, want a disconnect of reason too_many_websockets", frame)
	}
	if _, _, err := ws.ReadMessage(); err == nil {
		t.Error("the refused connection stayed open")
	}
	if s.Refused() != 1 || len(s.Conns()) != DefaultMaxConnections {
		t.Errorf("refused %d, live %d; want 1 and %d", s.Refused(), len(s.Conns()), DefaultMaxConnections)
	}

	// Once one goes, there is room again.
	conns[0].Close()
	if err := s.waitSocket(ctx, "a connection to go", func(st *socketState) bool { return len(st.live) < DefaultMaxConnections }); err != nil {
		t.Fatal(err)
	}
	if _, hello := rawConn(t, s); hello["type"] != "hello" {
		t.Errorf("after one left: first frame %v, want hello", hello)
	}
}

// A slack-go client refused for too many websockets tries again, and gets
// in once there is room.
func TestTooManyWebsocketsClientRetries(t *testing.T) {
	s := newServer(t, Options{MaxConnections: 1})
	ctx := timeout(t, 10*time.Second)
	first, _ := rawConn(t, s)
	startBot(t, s)
	if err := s.WaitRefused(ctx, 1); err != nil {
		t.Fatal(err)
	}
	first.Close()
	if err := s.WaitConnects(ctx, 2); err != nil {
		t.Fatalf("the client never got in once there was room: %v", err)
	}
}
