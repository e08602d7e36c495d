package fakeslack

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/slack-go/slack"
)

// writeTimeout bounds one websocket write when the caller's context does not.
const writeTimeout = 10 * time.Second

// helloFrame is the first frame of a connection; n counts the app's
// connections, this one included.
func helloFrame(n int) []byte {
	return fmt.Appendf(nil, `{"type":"hello","num_connections":%d,"debug_info":{"host":"fakeslack"},"connection_info":{"app_id":"A1"}}`, n)
}

// slack-go dials with "Origin: https://api.slack.com": allow any origin.
var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

// Envelope is one Socket Mode request frame as sent to the client.
type Envelope struct {
	EnvelopeID             string          `json:"envelope_id"`
	Type                   string          `json:"type"` // "slash_commands", "interactive", "events_api"
	Payload                json.RawMessage `json:"payload"`
	AcceptsResponsePayload bool            `json:"accepts_response_payload"`
	RetryAttempt           int             `json:"retry_attempt"`
	RetryReason            string          `json:"retry_reason"`
}

// Ack is an acknowledgement read back from the client:
// {"envelope_id":…,"payload":{…}}.
type Ack struct {
	EnvelopeID string
	Payload    json.RawMessage // nil when the ack had none
	Latency    time.Duration   // from the (latest) Send of that envelope id to the ack's arrival
	Received   time.Time       // when the ack arrived
	Size       int             // bytes of the ack frame as it came over the websocket
}

// wsConn is one accepted websocket. Data frames are written under wmu (one
// writer at a time); gorilla allows WriteControl (pings) and Close alongside.
type wsConn struct {
	id   int // the number in its URL: 1 for the first connection handed out
	ws   *websocket.Conn
	wmu  sync.Mutex
	done chan struct{} // closed by close: stops the pinger
	once sync.Once
}

func (c *wsConn) close() {
	c.once.Do(func() {
		close(c.done)
		_ = c.ws.Close() // closes the net.Conn: no close frame
	})
}

func (c *wsConn) write(ctx context.Context, data []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	deadline := time.Now().Add(writeTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if err := c.ws.SetWriteDeadline(deadline); err != nil {
		return err
	}
	return c.ws.WriteMessage(websocket.TextMessage, data)
}

type socketState struct {
	mu       sync.Mutex
	live     []*wsConn // connections envelopes may go to, oldest first
	conns    map[*wsConn]bool
	connects int
	refused  int           // connections refused with too_many_websockets
	joining  int           // connections accepted, hello not written yet
	next     int           // round-robin cursor into live
	changed  chan struct{} // closed and replaced whenever live or connects change
	issued   map[string]bool
	closed   bool
	wg       sync.WaitGroup // websocket handlers and pingers (hijacked: httptest does not wait for them)

	paused   atomic.Bool
	lastPong atomic.Pointer[time.Time]
	pongMu   sync.Mutex
	pong     chan struct{} // closed and replaced on every pong
}

func (st *socketState) init() {
	st.conns = make(map[*wsConn]bool)
	st.changed = make(chan struct{})
	st.issued = make(map[string]bool)
	st.pong = make(chan struct{})
}

func (st *socketState) notifyLocked() {
	close(st.changed)
	st.changed = make(chan struct{})
}

func (st *socketState) issue(id string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.issued[id] = true
}

// shutdown marks the state closed and returns the connections to close.
func (st *socketState) shutdown() []*wsConn {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.closed = true
	conns := make([]*wsConn, 0, len(st.conns))
	for c := range st.conns {
		conns = append(conns, c)
	}
	st.live = nil
	st.notifyLocked()
	return conns
}

// retire stops routing envelopes to c (it may still deliver acks).
func (st *socketState) retire(c *wsConn) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.retireLocked(c)
}

func (st *socketState) retireLocked(c *wsConn) {
	for i, l := range st.live {
		if l == c {
			st.live = append(st.live[:i:i], st.live[i+1:]...)
			st.notifyLocked()
			return
		}
	}
}

type ackState struct {
	mu         sync.Mutex
	sentAt     map[string]time.Time
	acks       map[string][]Ack
	waiters    map[string]chan struct{} // closed on the first ack of that id
	pending    map[string]*pending      // envelopes delivered and not acked yet
	deliveries map[string][]Delivery
	closed     bool           // no more redeliveries
	running    sync.WaitGroup // redeliveries under way
}

func (a *ackState) init() {
	a.pending = make(map[string]*pending)
	a.deliveries = make(map[string][]Delivery)
	a.sentAt = make(map[string]time.Time)
	a.acks = make(map[string][]Ack)
	a.waiters = make(map[string]chan struct{})
}

// serveWS accepts a websocket on a URL handed out by apps.connections.open.
func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	st := &s.sm
	st.mu.Lock()
	ok := st.issued[id] && !st.closed
	delete(st.issued, id) // a URL is good for one connection
	if ok {
		st.wg.Add(1)
	}
	st.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	defer st.wg.Done()

	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // Upgrade has answered the client
	}
	ws.SetReadLimit(1 << 20)
	ws.SetPongHandler(s.onPong)
	n, _ := strconv.Atoi(id)
	c := &wsConn{id: n, ws: ws, done: make(chan struct{})}

	// Past MaxConnections, Slack says so and closes the new connection.
	st.mu.Lock()
	full := len(st.live)+st.joining >= s.opts.MaxConnections
	if full {
		st.refused++
		st.notifyLocked()
	} else {
		st.joining++
	}
	count := len(st.live) + st.joining
	st.mu.Unlock()
	if full {
		_ = c.write(context.Background(), disconnectFrame("too_many_websockets"))
		c.close()
		return
	}
	err = c.write(context.Background(), helloFrame(count))
	st.mu.Lock()
	st.joining--
	if err != nil || st.closed {
		st.mu.Unlock()
		c.close()
		return
	}
	st.live = append(st.live, c)
	st.conns[c] = true
	st.connects++
	st.notifyLocked()
	st.wg.Add(1)
	st.mu.Unlock()

	go s.pinger(c)
	s.readAcks(c)

	st.mu.Lock()
	delete(st.conns, c)
	st.retireLocked(c)
	st.mu.Unlock()
	c.close()
}

// pinger sends PING control frames every PingInterval until c closes.
func (s *Server) pinger(c *wsConn) {
	defer s.sm.wg.Done()
	t := time.NewTicker(s.opts.PingInterval)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
		}
		if s.sm.paused.Load() {
			continue
		}
		payload := "ping-" + strconv.FormatInt(s.seqPing.Add(1), 10)
		if err := c.ws.WriteControl(websocket.PingMessage, []byte(payload), time.Now().Add(writeTimeout)); err != nil {
			c.close()
			return
		}
	}
}

func (s *Server) onPong(string) error {
	now := time.Now()
	s.sm.lastPong.Store(&now)
	s.sm.pongMu.Lock()
	close(s.sm.pong)
	s.sm.pong = make(chan struct{})
	s.sm.pongMu.Unlock()
	return nil
}

// readAcks records the client's acks until the connection fails. Control
// frames (pongs, close) are handled inside ReadMessage.
func (s *Server) readAcks(c *wsConn) {
	for {
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		now := time.Now()
		var frame struct {
			EnvelopeID string          `json:"envelope_id"`
			Payload    json.RawMessage `json:"payload"`
		}
		if json.Unmarshal(data, &frame) != nil || frame.EnvelopeID == "" {
			continue // not an ack: Slack ignores it too
		}
		if string(frame.Payload) == "null" {
			frame.Payload = nil
		}
		s.recordAck(Ack{EnvelopeID: frame.EnvelopeID, Payload: frame.Payload, Received: now, Size: len(data)})
	}
}

func (s *Server) recordAck(ack Ack) {
	a := &s.ack
	a.mu.Lock()
	defer a.mu.Unlock()
	id := ack.EnvelopeID
	if sent, ok := a.sentAt[id]; ok {
		ack.Latency = ack.Received.Sub(sent)
	}
	a.acks[id] = append(a.acks[id], ack)
	if p := a.pending[id]; p != nil {
		p.timer.Stop()
		delete(a.pending, id)
	}
	if ch := a.waiters[id]; ch != nil {
		close(ch)
		delete(a.waiters, id)
	}
}

// LastPong is when the client last answered a ping (zero before the first
// pong).
func (s *Server) LastPong() time.Time {
	if t := s.sm.lastPong.Load(); t != nil {
		return *t
	}
	return time.Time{}
}

// WaitPong waits for the next pong to arrive after the call and returns its
// time (addition: lets a test wait on pings without polling).
func (s *Server) WaitPong(ctx context.Context) (time.Time, error) {
	s.sm.pongMu.Lock()
	ch := s.sm.pong
	s.sm.pongMu.Unlock()
	if err := s.wait(ctx, ch); err != nil {
		return time.Time{}, fmt.Errorf("wait for a pong: %w", err)
	}
	return s.LastPong(), nil
}

// SetPingsPaused stops (true) or resumes (false) the server's pings, to test
// the client's ping timeout (socketmode.OptionPingInterval).
func (s *Server) SetPingsPaused(paused bool) { s.sm.paused.Store(paused) }

// Connects is how many websocket connections were established (hello sent)
// so far.
func (s *Server) Connects() int {
	s.sm.mu.Lock()
	defer s.sm.mu.Unlock()
	return s.sm.connects
}

// WaitConnected waits until a client is connected and was sent hello.
func (s *Server) WaitConnected(ctx context.Context) error {
	return s.WaitConnects(ctx, 1)
}

// WaitConnects waits until Connects() >= n and a connection is live.
func (s *Server) WaitConnects(ctx context.Context, n int) error {
	for {
		s.sm.mu.Lock()
		ok, connects, ch := s.sm.connects >= n && len(s.sm.live) > 0, s.sm.connects, s.sm.changed
		s.sm.mu.Unlock()
		if ok {
			return nil
		}
		if err := s.wait(ctx, ch); err != nil {
			return fmt.Errorf("wait for live connection #%d (connects so far: %d): %w", n, connects, err)
		}
	}
}

// newest returns the newest live connection, or nil.
func (s *Server) newest() *wsConn {
	s.sm.mu.Lock()
	defer s.sm.mu.Unlock()
	if len(s.sm.live) == 0 {
		return nil
	}
	return s.sm.live[len(s.sm.live)-1]
}

// Send writes env as is to one of the live connections (see Options.Seed
// for which): use it to redeliver an envelope by hand (same id,
// RetryAttempt 1). It waits for a live connection, bounded by ctx. A
// trigger_id in the payload becomes usable by views.open. An envelope not
// acked within Options.AckTimeout is redelivered to another connection.
func (s *Server) Send(ctx context.Context, env Envelope) error {
	return s.sendVia(ctx, 0, env)
}

// SendTo is Send to the live connection numbered conn (see Conns). It
// fails when that connection is not live.
func (s *Server) SendTo(ctx context.Context, conn int, env Envelope) error {
	if conn <= 0 {
		return fmt.Errorf("send envelope %s: no connection #%d", env.EnvelopeID, conn)
	}
	return s.sendVia(ctx, conn, env)
}

func (s *Server) sendVia(ctx context.Context, conn int, env Envelope) error {
	var p struct {
		TriggerID string `json:"trigger_id"`
	}
	if len(env.Payload) > 0 && json.Unmarshal(env.Payload, &p) == nil {
		s.RegisterTrigger(p.TriggerID)
	}
	if err := s.deliverEnvelope(ctx, conn, env, true); err != nil {
		return fmt.Errorf("send envelope %s: %w", env.EnvelopeID, err)
	}
	return nil
}

func (s *Server) newEnvelopeID() string {
	return fmt.Sprintf("fa4e51ac-0000-4000-8000-%012d", s.seqEnv.Add(1))
}

// SendSlashCommand sends cmd as a slash_commands envelope with a fresh
// envelope id and accepts_response_payload true. Empty fields are filled:
// Command "/transfer", ResponseURL a fresh ResponseURL(), TriggerID a fresh
// unique id, TeamID "T1", TeamDomain "fake", APIAppID "A1". It returns the
// envelope even when sending failed.
func (s *Server) SendSlashCommand(ctx context.Context, cmd slack.SlashCommand) (Envelope, error) {
	if cmd.Command == "" {
		cmd.Command = "/transfer"
	}
	if cmd.ResponseURL == "" {
		cmd.ResponseURL = s.ResponseURL()
	}
	if cmd.TriggerID == "" {
		cmd.TriggerID = s.TriggerID()
	}
	if cmd.TeamID == "" {
		cmd.TeamID = "T1"
	}
	if cmd.TeamDomain == "" {
		cmd.TeamDomain = "fake"
	}
	if cmd.APIAppID == "" {
		cmd.APIAppID = "A1"
	}
	payload, err := json.Marshal(cmd)
	if err != nil {
		return Envelope{}, fmt.Errorf("encode slash command: %w", err)
	}
	env := Envelope{EnvelopeID: s.newEnvelopeID(), Type: "slash_commands", Payload: payload, AcceptsResponsePayload: true}
	return env, s.Send(ctx, env)
}

// SendInteraction sends cb as an "interactive" envelope with a fresh
// envelope id; accepts_response_payload is true for view_submission only, as
// on Slack. Empty fields are filled: TriggerID (for view_submission,
// block_actions and shortcuts), Team.ID "T1", APIAppID "A1"; for
// block_actions, the container as Slack sends it: a message's (type
// "message", message_ts and channel_id from cb.Message.Timestamp and
// cb.Channel, or the other way round, and a fresh ResponseURL()) or a
// view's (type "view", view_id from cb.View.ID), and each action's
// action_ts. For a message shortcut, SendMessageAction fills more. It
// returns the envelope even when sending failed.
func (s *Server) SendInteraction(ctx context.Context, cb slack.InteractionCallback) (Envelope, error) {
	if cb.Type == slack.InteractionTypeBlockActions {
		s.fillBlockActions(&cb)
	}
	switch cb.Type {
	case slack.InteractionTypeViewSubmission, slack.InteractionTypeBlockActions,
		slack.InteractionTypeShortcut, slack.InteractionTypeMessageAction:
		if cb.TriggerID == "" {
			cb.TriggerID = s.TriggerID()
		}
	}
	if cb.Team.ID == "" {
		cb.Team.ID = "T1"
	}
	if cb.APIAppID == "" {
		cb.APIAppID = "A1"
	}
	payload, err := json.Marshal(&cb) // MarshalJSON has a pointer receiver
	if err != nil {
		return Envelope{}, fmt.Errorf("encode interaction: %w", err)
	}
	env := Envelope{
		EnvelopeID:             s.newEnvelopeID(),
		Type:                   "interactive",
		Payload:                payload,
		AcceptsResponsePayload: cb.Type == slack.InteractionTypeViewSubmission,
	}
	return env, s.Send(ctx, env)
}

// SendBlockSuggestion sends cb as the "interactive" envelope Slack sends
// while someone types in an external_select: Type block_suggestion, with
// accepts_response_payload true, since the options come back in the ack.
// Empty fields are filled as by SendInteraction.
func (s *Server) SendBlockSuggestion(ctx context.Context, cb slack.InteractionCallback) (Envelope, error) {
	cb.Type = slack.InteractionTypeBlockSuggestion
	if cb.Team.ID == "" {
		cb.Team.ID = "T1"
	}
	if cb.APIAppID == "" {
		cb.APIAppID = "A1"
	}
	payload, err := json.Marshal(&cb)
	if err != nil {
		return Envelope{}, fmt.Errorf("encode block_suggestion: %w", err)
	}
	env := Envelope{EnvelopeID: s.newEnvelopeID(), Type: "interactive", Payload: payload, AcceptsResponsePayload: true}
	return env, s.Send(ctx, env)
}

// SendDisconnect sends {"type":"disconnect","reason":…} on the newest live
// connection and stops routing envelopes to it: later sends go to the
// others, or wait for the client's new connection. Acks still arriving on it
// are recorded.
func (s *Server) SendDisconnect(ctx context.Context, reason string) error {
	for {
		c, err := s.waitNewest(ctx)
		if err != nil {
			return fmt.Errorf("send disconnect: %w", err)
		}
		err = c.write(ctx, disconnectFrame(reason))
		s.sm.retire(c)
		if err == nil {
			return nil
		}
		c.close()
	}
}

func disconnectFrame(reason string) []byte {
	data, _ := json.Marshal(map[string]any{"type": "disconnect", "reason": reason, "debug_info": map[string]string{"host": "fakeslack"}})
	return data
}

// DropConnection abruptly closes the newest live websocket's TCP connection
// (no close frame). It does nothing when no connection is live.
func (s *Server) DropConnection() {
	c := s.newest()
	if c == nil {
		return
	}
	s.sm.retire(c)
	c.close()
}

// WaitAck waits for the first ack of envelopeID and returns it (at once if it
// already came).
func (s *Server) WaitAck(ctx context.Context, envelopeID string) (Ack, error) {
	a := &s.ack
	a.mu.Lock()
	if acks := a.acks[envelopeID]; len(acks) > 0 {
		a.mu.Unlock()
		return acks[0], nil
	}
	ch := a.waiters[envelopeID]
	if ch == nil {
		ch = make(chan struct{})
		a.waiters[envelopeID] = ch
	}
	a.mu.Unlock()
	if err := s.wait(ctx, ch); err != nil {
		return Ack{}, fmt.Errorf("wait for ack of %s: %w", envelopeID, err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.acks[envelopeID][0], nil
}

// Acks returns every ack of envelopeID so far, in order of arrival.
func (s *Server) Acks(envelopeID string) []Ack {
	s.ack.mu.Lock()
	defer s.ack.mu.Unlock()
	return append([]Ack(nil), s.ack.acks[envelopeID]...)
}
