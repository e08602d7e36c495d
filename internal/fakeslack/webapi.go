package fakeslack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// methodResponseURL is the Call.Method of a POST to a response URL.
const methodResponseURL = "response_url"

// maxBody bounds a request body; Slack's own limits are far lower.
const maxBody = 8 << 20

// Call is one recorded request: a Web API method or a response URL post.
// Its Form and JSON are shared with the server's record: treat them as
// read-only.
type Call struct {
	Method string
	Form   url.Values      // form fields (token removed), nil for JSON bodies
	JSON   json.RawMessage // raw JSON body, nil for forms (and for an empty body)
	Time   time.Time
	URL    string // the URL posted to, e.g. a response URL (addition)
	// Answer is the JSON the fake answered with (for chat.postMessage it
	// holds the ts it gave the message); nil when it never answered.
	Answer json.RawMessage
}

// AnswerArg returns a top-level field of the answer as a string, like Arg.
func (c Call) AnswerArg(name string) string {
	var fields map[string]json.RawMessage
	if json.Unmarshal(c.Answer, &fields) != nil {
		return ""
	}
	return rawArg(fields[name])
}

// Arg returns a form value, or for a JSON body the top-level field as a
// string: strings unquoted, other values as raw JSON text. It is "" when the
// field is absent.
func (c Call) Arg(name string) string {
	if c.Form != nil {
		return c.Form.Get(name)
	}
	if c.JSON == nil {
		return ""
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(c.JSON, &fields) != nil {
		return ""
	}
	return rawArg(fields[name])
}

// args returns a getter for c's arguments that decodes a JSON body once.
func (c Call) args() func(string) string {
	if c.Form != nil || c.JSON == nil {
		return c.Arg
	}
	var fields map[string]json.RawMessage
	_ = json.Unmarshal(c.JSON, &fields)
	return func(name string) string { return rawArg(fields[name]) }
}

func rawArg(v json.RawMessage) string {
	if len(v) == 0 || string(v) == "null" {
		return ""
	}
	if v[0] == '"' {
		var s string
		if json.Unmarshal(v, &s) == nil {
			return s
		}
	}
	return string(v)
}

// Failure is an injected answer for the next calls of one method.
type Failure struct {
	Status     int           // HTTP status; 0 → 200
	Error      string        // with status 200: {"ok":false,"error":Error}; with another status, the body's error (default "ratelimited" for 429, else "internal_error")
	RetryAfter int           // seconds; sets the Retry-After header (use with Status 429)
	Delay      time.Duration // answer late (for timeouts); gives up when the client does. A Failure with only Delay answers normally after it.
	Times      int           // how many calls it applies to; 0 → 1
}

// callWaiter is a pending WaitCalls (match nil: until n calls) or WaitCall.
type callWaiter struct {
	n     int
	match func(Call) bool
	got   Call
	done  chan struct{}
}

type trigger struct {
	issued time.Time
	used   bool
}

type webState struct {
	mu           sync.Mutex
	calls        []Call
	byMethod     map[string][]Call
	waiters      map[string][]*callWaiter
	failures     map[string][]Failure
	groups       map[string][]string
	notInChannel map[string]bool
	messages     map[string]*message // by channel + "\x00" + ts: posted by the bot or added by a test
	triggers     map[string]*trigger
	views        map[string]*viewRecord // views opened or published, by view id
	externalIDs  map[string]string      // external_id → view id
	homes        map[string]*homeTab    // the Home tab published for each user
}

func (w *webState) init() {
	w.byMethod = make(map[string][]Call)
	w.waiters = make(map[string][]*callWaiter)
	w.failures = make(map[string][]Failure)
	w.groups = make(map[string][]string)
	w.notInChannel = make(map[string]bool)
	w.messages = make(map[string]*message)
	w.triggers = make(map[string]*trigger)
	w.views = make(map[string]*viewRecord)
	w.externalIDs = make(map[string]string)
	w.homes = make(map[string]*homeTab)
}

// Calls returns the calls of method so far, in order.
func (s *Server) Calls(method string) []Call {
	s.web.mu.Lock()
	defer s.web.mu.Unlock()
	return slices.Clone(s.web.byMethod[method])
}

// AllCalls returns every call so far, of every method (including
// "response_url" posts), in order.
func (s *Server) AllCalls() []Call {
	s.web.mu.Lock()
	defer s.web.mu.Unlock()
	return slices.Clone(s.web.calls)
}

// WaitCalls waits until at least n calls of method were recorded and returns
// them all, in order.
func (s *Server) WaitCalls(ctx context.Context, method string, n int) ([]Call, error) {
	w := &callWaiter{n: n, done: make(chan struct{})}
	s.web.mu.Lock()
	if len(s.web.byMethod[method]) >= n {
		calls := slices.Clone(s.web.byMethod[method])
		s.web.mu.Unlock()
		return calls, nil
	}
	s.web.waiters[method] = append(s.web.waiters[method], w)
	s.web.mu.Unlock()

	if err := s.wait(ctx, w.done); err != nil {
		s.dropWaiter(method, w)
		calls := s.Calls(method)
		if len(calls) >= n {
			return calls, nil
		}
		return calls, fmt.Errorf("wait for %d %s calls (got %d): %w", n, method, len(calls), err)
	}
	return s.Calls(method), nil
}

// WaitCall waits for the first call of method, past or future, for which
// match returns true, and returns it (addition: lets a test or benchmark wait
// for one particular message among thousands without rescanning). match runs
// while the server's record is locked: keep it quick and do not call the
// Server from it.
func (s *Server) WaitCall(ctx context.Context, method string, match func(Call) bool) (Call, error) {
	w := &callWaiter{match: match, done: make(chan struct{})}
	s.web.mu.Lock()
	for _, c := range s.web.byMethod[method] {
		if match(c) {
			s.web.mu.Unlock()
			return c, nil
		}
	}
	s.web.waiters[method] = append(s.web.waiters[method], w)
	s.web.mu.Unlock()

	if err := s.wait(ctx, w.done); err != nil {
		if !s.dropWaiter(method, w) {
			return w.got, nil // matched while we were giving up
		}
		return Call{}, fmt.Errorf("wait for a matching %s call: %w", method, err)
	}
	return w.got, nil
}

// dropWaiter removes w; it reports false when w was already satisfied.
func (s *Server) dropWaiter(method string, w *callWaiter) bool {
	s.web.mu.Lock()
	defer s.web.mu.Unlock()
	ws := s.web.waiters[method]
	i := slices.Index(ws, w)
	if i < 0 {
		return false
	}
	s.web.waiters[method] = slices.Delete(ws, i, i+1)
	return true
}

// record appends c and wakes the waiters it satisfies.
func (s *Server) record(c Call) {
	s.web.mu.Lock()
	defer s.web.mu.Unlock()
	s.web.calls = append(s.web.calls, c)
	s.web.byMethod[c.Method] = append(s.web.byMethod[c.Method], c)
	ws := s.web.waiters[c.Method]
	if len(ws) == 0 {
		return
	}
	n := len(s.web.byMethod[c.Method])
	kept := ws[:0]
	for _, w := range ws {
		switch {
		case w.match == nil && n >= w.n:
			close(w.done)
		case w.match != nil && w.match(c):
			w.got = c
			close(w.done)
		default:
			kept = append(kept, w)
		}
	}
	clear(ws[len(kept):])
	s.web.waiters[c.Method] = kept
}

// Fail queues f for the next calls of method ("response_url" and
// "apps.connections.open" included). Queued failures are consumed in order;
// each applies to f.Times calls (default 1). Calls with a bad token are
// answered invalid_auth and do not consume a failure.
func (s *Server) Fail(method string, f Failure) {
	if f.Times <= 0 {
		f.Times = 1
	}
	s.web.mu.Lock()
	defer s.web.mu.Unlock()
	s.web.failures[method] = append(s.web.failures[method], f)
}

func (s *Server) nextFailure(method string) (Failure, bool) {
	s.web.mu.Lock()
	defer s.web.mu.Unlock()
	q := s.web.failures[method]
	if len(q) == 0 {
		return Failure{}, false
	}
	f := q[0]
	if q[0].Times--; q[0].Times == 0 {
		s.web.failures[method] = q[1:]
	}
	return f, true
}

// SetGroupMembers sets the members usergroups.users.list returns for
// groupID. A group never set answers ok:false "no_such_subteam".
func (s *Server) SetGroupMembers(groupID string, userIDs ...string) {
	s.web.mu.Lock()
	defer s.web.mu.Unlock()
	s.web.groups[groupID] = slices.Clone(userIDs)
}

// SetNotInChannel makes chat.postMessage and chat.update to channelID answer
// ok:false "not_in_channel", as Slack does for a private channel the bot was
// not invited to.
func (s *Server) SetNotInChannel(channelID string) {
	s.web.mu.Lock()
	defer s.web.mu.Unlock()
	s.web.notInChannel[channelID] = true
}

// registerTrigger makes id acceptable to views.open, once. Registering it
// again (a redelivered envelope) changes nothing.
func (s *Server) registerTrigger(id string) {
	if id == "" {
		return
	}
	s.web.mu.Lock()
	defer s.web.mu.Unlock()
	if s.web.triggers[id] == nil {
		s.web.triggers[id] = &trigger{issued: time.Now()}
	}
}

// TriggerID returns a fresh trigger id that views.open accepts once
// (addition: lets a test open a view without sending an envelope).
func (s *Server) TriggerID() string {
	id := s.newTriggerID()
	s.registerTrigger(id)
	return id
}

func (s *Server) newTriggerID() string {
	n := s.seqTrigger.Add(1)
	return fmt.Sprintf("%d.738474920.fake%012x", 13345224609+n, n)
}

// nextTS returns a unique, increasing message timestamp.
func (s *Server) nextTS() string {
	n := s.seqTS.Add(1)
	return fmt.Sprintf("%d.%06d", 1700000000+n/1000000, n%1000000)
}

// readCall reads r into a Call and returns the token it carried.
func readCall(r *http.Request, method string) (Call, string, error) {
	c := Call{Method: method, Time: time.Now(), URL: requestURL(r)}
	token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	r.Body = http.MaxBytesReader(nil, r.Body, maxBody)
	ctype, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ctype == "application/json" {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return c, token, err
		}
		if body = bytes.TrimSpace(body); len(body) > 0 {
			if !json.Valid(body) {
				return c, token, errInvalidJSON
			}
			c.JSON = body
		}
		return c, token, nil
	}
	if err := r.ParseForm(); err != nil {
		return c, token, err
	}
	c.Form = r.Form
	if t := c.Form.Get("token"); t != "" {
		token = t
	}
	c.Form.Del("token")
	return c, token, nil
}

var errInvalidJSON = errors.New("invalid JSON body")

// serveAPI answers POST /api/{method} and records the call with its answer.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	method := r.PathValue("method")
	c, token, err := readCall(r, method)
	if !s.throttle(r, &c) {
		return
	}
	status, ans := http.StatusOK, object(nil)
	switch {
	case errors.Is(err, errInvalidJSON):
		ans = slackError("invalid_json")
	case err != nil:
		ans = slackError("invalid_form_data")
	case !s.tokenOK(method, token):
		ans = slackError("invalid_auth")
	default:
		if t := s.opts.Throttle; t != nil {
			if retryAfter, ok := t.Admit(c); !ok {
				status, ans = rateLimited(w, retryAfter)
				break
			}
		}
		if f, ok := s.nextFailure(method); ok && f.Delay > 0 {
			// Recorded as it arrives, so a test can wait for a hanging call.
			s.record(c)
			if s.delay(r, f.Delay) {
				status, ans := failure(w, f)
				if ans == nil {
					ans = s.answer(method, c)
				}
				writeJSON(w, status, ans)
			}
			return
		} else if ok {
			status, ans = failure(w, f)
		}
		if ans == nil {
			ans = s.answer(method, c)
		}
	}
	c.Answer, _ = marshalAnswer(ans)
	s.record(c)
	writeJSON(w, status, ans)
}

func (s *Server) tokenOK(method, token string) bool {
	want := s.opts.BotToken
	if method == "apps.connections.open" {
		want = s.opts.AppToken
	}
	return token != "" && (want == "" || token == want)
}

// throttle holds c for the Throttle's latency, and then stamps it: that is
// when Slack takes it. It reports false when the client or the server went
// away first.
func (s *Server) throttle(r *http.Request, c *Call) bool {
	if s.opts.Throttle == nil {
		return true
	}
	d := s.opts.Throttle.Latency(*c)
	if d <= 0 {
		return true
	}
	if !s.delay(r, d) {
		return false
	}
	c.Time = time.Now()
	return true
}

// rateLimited answers a call the Throttle refused as Slack does.
func rateLimited(w http.ResponseWriter, retryAfter int) (int, object) {
	w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
	return http.StatusTooManyRequests, slackError("ratelimited")
}

// delay waits d; it reports false when the request or the server ended
// first.
func (s *Server) delay(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	case <-s.closing:
		return false
	}
}

// failure returns the status and body that f answers with, setting its
// headers on w; a nil body means f was a pure delay and the normal answer
// follows.
func failure(w http.ResponseWriter, f Failure) (int, object) {
	status := f.Status
	if status == 0 {
		status = http.StatusOK
	}
	if status == http.StatusOK && f.Error == "" {
		return status, nil
	}
	if f.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(f.RetryAfter))
	}
	msg := f.Error
	if msg == "" {
		msg = "internal_error"
		if status == http.StatusTooManyRequests {
			msg = "ratelimited"
		}
	}
	return status, slackError(msg)
}

type object = map[string]any

func slackError(msg string) object { return object{"ok": false, "error": msg} }

// marshalAnswer encodes a Web API answer as Slack writes it, "ok" first,
// then the other fields (sorted, so that an answer repeats byte for byte).
func marshalAnswer(o object) ([]byte, error) {
	ok, hasOK := o["ok"]
	if !hasOK {
		return json.Marshal(o)
	}
	rest := maps.Clone(o)
	delete(rest, "ok")
	okJSON, err := json.Marshal(ok)
	if err != nil {
		return nil, err
	}
	body := append([]byte(`{"ok":`), okJSON...)
	if len(rest) == 0 {
		return append(body, '}'), nil
	}
	restJSON, err := json.Marshal(rest)
	if err != nil {
		return nil, err
	}
	return append(append(body, ','), restJSON[1:]...), nil
}

func writeJSON(w http.ResponseWriter, status int, ans object) {
	body, err := marshalAnswer(ans)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// answer is the normal answer to a well-authenticated call of method.
func (s *Server) answer(method string, c Call) object {
	arg := c.args()
	switch method {
	case "apps.connections.open":
		return object{"ok": true, "url": s.wsURL()}
	case "auth.test":
		return object{"ok": true, "url": "https://fake.slack.com/", "team": "Fake", "user": "coldtransfer",
			"team_id": "T1", "user_id": s.opts.BotUserID, "bot_id": "B1"}
	case "chat.postMessage":
		return s.postMessage(c, arg)
	case "chat.postEphemeral":
		return s.postEphemeral(arg)
	case "chat.update":
		return s.updateMessage(c, arg)
	case "chat.getPermalink":
		return s.permalink(arg("channel"), arg("message_ts"))
	case "views.open":
		return s.openView(arg)
	case "views.publish":
		return s.publishView(arg)
	case "views.update":
		return s.updateView(arg)
	case "usergroups.users.list":
		return s.groupMembers(arg("usergroup"))
	case "users.info":
		return userInfo(arg("user"))
	case "reactions.add":
		if arg("channel") == "" || arg("timestamp") == "" || arg("name") == "" {
			return slackError("invalid_arguments")
		}
		return object{"ok": true}
	default:
		return slackError("unknown_method")
	}
}

func (s *Server) postEphemeral(arg func(string) string) object {
	switch {
	case arg("channel") == "":
		return slackError("channel_not_found")
	case arg("user") == "":
		return slackError("user_not_found")
	case arg("text") == "" && arg("blocks") == "" && arg("attachments") == "":
		return slackError("no_text")
	}
	return object{"ok": true, "message_ts": s.nextTS()}
}

func (s *Server) groupMembers(group string) object {
	s.web.mu.Lock()
	users, ok := s.web.groups[group]
	s.web.mu.Unlock()
	if !ok {
		return slackError("no_such_subteam")
	}
	if users == nil {
		users = []string{}
	}
	return object{"ok": true, "users": users}
}

func userInfo(id string) object {
	if id == "" {
		return slackError("user_not_found")
	}
	name := strings.ToLower(id)
	return object{"ok": true, "user": object{"id": id, "team_id": "T1", "name": name, "real_name": "User " + id,
		"profile": object{"real_name": "User " + id, "display_name": name}}}
}

// serveResponseURL answers POST /response/{id} like Slack: 200 "ok" as text.
func (s *Server) serveResponseURL(w http.ResponseWriter, r *http.Request) {
	c := Call{Method: methodResponseURL, Time: time.Now(), URL: requestURL(r)}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if body = bytes.TrimSpace(body); err == nil && json.Valid(body) {
		c.JSON = body
	}
	s.record(c)
	if r.Method != http.MethodPost || c.JSON == nil {
		http.Error(w, "invalid_payload", http.StatusBadRequest)
		return
	}
	if f, ok := s.nextFailure(methodResponseURL); ok {
		if !s.delay(r, f.Delay) {
			return
		}
		if status, ans := failure(w, f); ans != nil {
			writeJSON(w, status, ans)
			return
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, "ok")
}
