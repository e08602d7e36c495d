// Package fakeplivo is a PHLO runner on loopback for tests, built on
// net/http/httptest.
//
// It answers the Multi-Party Call node and member endpoints the way Plivo
// does, records every request as it arrived, and can be told to answer
// slowly, with an error, or not at all. Node actions (call, warm_transfer,
// cold_transfer) are POSTed to /v1/phlo/{phlo}/multi_party_call/{node},
// member actions (hold, unhold, hangup, abort_transfer, resume_call,
// voicemail_drop) to that path + /members/{member_address}; an action the
// path does not take is refused with 400, as Plivo does.
package fakeplivo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// maxBody bounds how much of a request body the server records.
const maxBody = 1 << 20

// Server is a fake PHLO runner. It is safe for concurrent use.
type Server struct {
	srv       *httptest.Server
	authID    string
	authToken string
	closing   chan struct{} // closed by Close, to end delayed answers
	closeOnce sync.Once

	mu        sync.Mutex
	requests  []Request
	arrived   chan struct{} // closed, and replaced, when a request arrives
	responses []Response
	next      int    // index in responses of the next answer
	ids       uint64 // api_ids handed out
}

// Request is one request the server received, as it arrived.
type Request struct {
	Method string
	Path   string // escaped, as on the wire
	// Member is the member address of a member action, its path segment
	// decoded as Plivo reads it ("+14155550199", "sip:a/b@example.com");
	// "" for a node action.
	Member string
	// Action is the body's "action" field, "" when it has none or is not
	// JSON.
	Action      string
	ContentType string
	Header      http.Header // all request headers
	AuthID      string      // HTTP Basic user, "" when there was none
	AuthToken   string      // HTTP Basic password
	// BasicAuthOK reports whether the request carried the server's own
	// credentials.
	BasicAuthOK bool
	// Body is the request body. It and Header are shared with the server's
	// log: treat them as read-only.
	Body     []byte
	Received time.Time
}

// Response is how the server answers one request.
type Response struct {
	// Status is the HTTP status; 0 means 201.
	Status int
	// Body is the answer's body. Empty with Status 0 or 201 means
	// {"api_id":"<a new id>","error":""}; empty otherwise means no body.
	Body string
	// Delay is how long the server waits before answering. It stops early,
	// without answering, when the client goes away or the server closes.
	Delay time.Duration
	// Header holds extra answer headers, such as Retry-After. The body is
	// sent as application/json unless it sets Content-Type.
	Header http.Header
	// Hijack makes the server read the request and close the connection
	// without answering.
	Hijack bool
	// Gate, when not nil, holds the answer (after Delay) until it is
	// closed, so that a test decides when Plivo answers.
	Gate <-chan struct{}
}

// New starts a server that accepts HTTP Basic credentials authID:authToken
// and, until told otherwise by Respond, answers every request with 201 and a
// new api_id. Close it when done.
func New(authID, authToken string) *Server {
	return newServer(authID, authToken, nil)
}

// newServer is New with the server started by start (see NewStartedBy).
func newServer(authID, authToken string, start func(*httptest.Server)) *Server {
	s := &Server{
		authID:    authID,
		authToken: authToken,
		closing:   make(chan struct{}),
		arrived:   make(chan struct{}),
	}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.serveHTTP))
	if start == nil {
		start = (*httptest.Server).Start
	}
	start(s.srv)
	return s
}

// URL returns the server's base URL, such as http://127.0.0.1:41234, for
// the client's BaseURL.
func (s *Server) URL() string { return s.srv.URL }

// Close ends delayed answers at once and shuts the server down.
func (s *Server) Close() {
	s.closeOnce.Do(func() { close(s.closing) })
	s.srv.Close()
}

// Respond sets how the next requests are answered: the responses in order,
// the last one repeating. With no responses the server returns to its
// default answer.
func (s *Server) Respond(rs ...Response) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.responses = append([]Response(nil), rs...)
	s.next = 0
}

// Requests returns the requests received so far, in arrival order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Count returns how many requests were received so far.
func (s *Server) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.requests)
}

// WaitRequests blocks until at least n requests have arrived, and returns
// them. When ctx ends first it returns those that arrived and an error
// saying how many did.
func (s *Server) WaitRequests(ctx context.Context, n int) ([]Request, error) {
	for {
		s.mu.Lock()
		got, arrived := len(s.requests), s.arrived
		if got >= n {
			rs := append([]Request(nil), s.requests...)
			s.mu.Unlock()
			return rs, nil
		}
		s.mu.Unlock()
		select {
		case <-arrived:
		case <-ctx.Done():
			return s.Requests(), fmt.Errorf("fakeplivo: %d of %d requests arrived: %w", got, n, ctx.Err())
		}
	}
}

// RefusedURL returns the URL of a loopback port that nothing listens on, so
// that connecting to it is refused.
func RefusedURL(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("fakeplivo: listen: %v", err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatalf("fakeplivo: close listener: %v", err)
	}
	return "http://" + addr
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	// A body cut short by the client is recorded as far as it came.
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxBody))
	user, pass, hasAuth := r.BasicAuth()
	authOK := hasAuth && user == s.authID && pass == s.authToken
	route, member := parsePath(r.URL.EscapedPath())
	action := bodyAction(body)

	s.mu.Lock()
	s.requests = append(s.requests, Request{
		Method:      r.Method,
		Path:        r.URL.EscapedPath(),
		Member:      member,
		Action:      action,
		ContentType: r.Header.Get("Content-Type"),
		Header:      r.Header.Clone(),
		AuthID:      user,
		AuthToken:   pass,
		BasicAuthOK: authOK,
		Body:        body,
		Received:    time.Now(),
	})
	close(s.arrived)
	s.arrived = make(chan struct{})
	s.ids++
	apiID := fmt.Sprintf("00000000-0000-4000-8000-%012d", s.ids)
	var resp Response
	// Like Plivo, refuse bad credentials, unknown routes and actions the
	// route does not take before acting: they do not use up a scripted
	// answer.
	switch {
	case !authOK:
		resp = Response{Status: http.StatusUnauthorized, Body: `{"api_id":"` + apiID + `","error":"Authentication failed"}`}
	case r.Method != http.MethodPost:
		resp = Response{Status: http.StatusMethodNotAllowed, Body: `{"api_id":"` + apiID + `","error":"method not allowed"}`}
	case route == routeNone:
		resp = Response{Status: http.StatusNotFound, Body: `{}`}
	case !slices.Contains(route.actions(), action):
		resp = Response{Status: http.StatusBadRequest, Body: refusal(apiID, route, action)}
	case len(s.responses) > 0:
		resp = s.responses[min(s.next, len(s.responses)-1)]
		s.next++
	}
	s.mu.Unlock()

	if resp.Delay > 0 && !s.wait(r.Context(), resp.Delay) {
		// Drop the connection: returning would send an empty 200.
		panic(http.ErrAbortHandler)
	}
	if resp.Gate != nil && !s.waitGate(r.Context(), resp.Gate) {
		panic(http.ErrAbortHandler)
	}
	if resp.Hijack {
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			conn.Close()
		}
		return
	}
	status, respBody := resp.Status, resp.Body
	if status == 0 {
		status = http.StatusCreated
	}
	if respBody == "" && status == http.StatusCreated {
		respBody = `{"api_id":"` + apiID + `","error":""}`
	}
	h := w.Header()
	for k, vs := range resp.Header {
		h[k] = append([]string(nil), vs...)
	}
	if h.Get("Content-Type") == "" && respBody != "" {
		h.Set("Content-Type", "application/json")
	}
	h.Set("Content-Length", strconv.Itoa(len(respBody)))
	w.WriteHeader(status)
	_, _ = io.WriteString(w, respBody) // a client that went away is no concern of the fake
}

// wait waits for d, and reports false if the client went away or the
// server closed first.
func (s *Server) wait(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-s.closing:
		return false
	}
}

// waitGate waits for gate to close, and reports false if the client went
// away or the server closed first.
func (s *Server) waitGate(ctx context.Context, gate <-chan struct{}) bool {
	select {
	case <-gate:
		return true
	case <-ctx.Done():
		return false
	case <-s.closing:
		return false
	}
}

// route is what a path names.
type route int

const (
	routeNone   route = iota // not a Multi-Party Call path
	routeNode                // /v1/phlo/{phlo}/multi_party_call/{node}
	routeMember              // the node's path + /members/{member}
)

// The actions each route takes, in the order Plivo documents them.
var (
	nodeActions   = []string{"call", "warm_transfer", "cold_transfer"}
	memberActions = []string{"hold", "unhold", "hangup", "abort_transfer", "resume_call", "voicemail_drop"}
)

func (r route) actions() []string {
	if r == routeMember {
		return memberActions
	}
	return nodeActions
}

// parsePath returns the route p, an escaped path, names, and for a member
// path the member's address, decoded.
func parsePath(p string) (route, string) {
	seg := strings.Split(strings.TrimPrefix(p, "/"), "/")
	if slices.Contains(seg, "") || len(seg) < 5 ||
		seg[0] != "v1" || seg[1] != "phlo" || seg[3] != "multi_party_call" {
		return routeNone, ""
	}
	switch {
	case len(seg) == 5:
		return routeNode, ""
	case len(seg) == 7 && seg[5] == "members":
		// net/http let through only valid escapes.
		member, err := url.PathUnescape(seg[6])
		if err != nil {
			return routeNone, ""
		}
		return routeMember, member
	}
	return routeNone, ""
}

// bodyAction returns the action field of a JSON body, or "".
func bodyAction(body []byte) string {
	var b struct {
		Action string `json:"action"`
	}
	if json.Unmarshal(body, &b) != nil {
		return ""
	}
	return b.Action
}

// refusal is the 400 answer to an action the route does not take, in
// Plivo's shape; the words are the fake's own.
func refusal(apiID string, r route, action string) string {
	var text string
	switch {
	case action == "":
		text = "action is a mandatory param."
	case r == routeMember:
		text = fmt.Sprintf("invalid member action %q: it must be one of %s.", action, strings.Join(memberActions, ", "))
	default:
		text = fmt.Sprintf("invalid action %q: it must be one of %s.", action, strings.Join(nodeActions, ", "))
	}
	b, _ := json.Marshal(struct {
		APIID string `json:"api_id"`
		Error string `json:"error"`
	}{apiID, text})
	return string(b)
}
