// Package webapi is the Web API half of the fake Slack: the methods the bot
// calls (chat.postMessage, chat.update, chat.postEphemeral,
// chat.getPermalink, views.open/publish/update, usergroups.users.list,
// users.info, auth.test, apps.connections.open, reactions.add) and response
// URLs, each call recorded with its answer (Calls, WaitCalls, WaitCall),
// failures injected per method (Fail), and what the calls change kept as
// Slack keeps it: messages and their edits (Message), each user's Home tab
// (HomeView), the views opened. Package fakeslack serves it beside Socket
// Mode; its Server has every method of API.
//
// All methods are safe for concurrent use.
package webapi

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
	"sync/atomic"
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

// API is the fake's Web API: the methods the bot calls, each call recorded
// with its answer, failures injected per method, and what the calls change
// kept as Slack would keep it (messages, views, Home tabs).
type API struct {
	opts    Options
	closing chan struct{}
	once    sync.Once

	seqTS, seqView, seqHash, seqTrigger atomic.Int64

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

// Options configures an API.
type Options struct {
	// BotToken must be carried by every call, as the form field "token" or
	// as "Authorization: Bearer"; otherwise the call is answered ok:false
	// "invalid_auth". Empty accepts any non-empty token.
	BotToken string
	// AppToken must be sent as "Authorization: Bearer" to
	// apps.connections.open. Empty accepts any non-empty token.
	AppToken string
	// BotUserID is auth.test's user_id and the author of the bot's messages.
	BotUserID string
	// TriggerTTL, when positive, makes views.open refuse a trigger id older
	// than this with "expired_trigger_id".
	TriggerTTL time.Duration
	// Throttle, when set, makes every call wait and may refuse it.
	Throttle Throttle
	// ConnectionsOpen returns the websocket URL that apps.connections.open
	// answers with.
	ConnectionsOpen func() string
}

// A Throttle stands between a Web API call and its answer, so that a load
// test can make the fake answer like Slack on a busy day rather than like a
// loopback server. Its methods are called concurrently, once per call
// (response URLs and websockets are not throttled).
type Throttle interface {
	// Latency is how long call c waits before it is handled. The call is
	// stamped (Call.Time) when the wait ends: that is when Slack takes it,
	// and when a message is posted.
	Latency(c Call) time.Duration
	// Admit reports whether c, which carried a good token and has waited,
	// is taken. When it is not, c is answered HTTP 429 ok:false
	// "ratelimited" with Retry-After retryAfter seconds, and recorded so.
	Admit(c Call) (retryAfter int, ok bool)
}

// ErrClosed is returned by waits cut short by Close.
var ErrClosed = errors.New("fakeslack: server closed")

// New returns an API; serve it with ServeAPI and ServeResponseURL.
func New(opts Options) *API {
	return &API{
		opts:         opts,
		closing:      make(chan struct{}),
		byMethod:     make(map[string][]Call),
		waiters:      make(map[string][]*callWaiter),
		failures:     make(map[string][]Failure),
		groups:       make(map[string][]string),
		notInChannel: make(map[string]bool),
		messages:     make(map[string]*message),
		triggers:     make(map[string]*trigger),
		views:        make(map[string]*viewRecord),
		externalIDs:  make(map[string]string),
		homes:        make(map[string]*homeTab),
	}
}

// Close cuts short every pending wait and delayed answer. It is idempotent.
func (a *API) Close() { a.once.Do(func() { close(a.closing) }) }

// wait blocks until ch is closed, ctx ends or the API closes.
func (a *API) wait(ctx context.Context, ch <-chan struct{}) error {
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-a.closing:
		return ErrClosed
	}
}

// Calls returns the calls of method so far, in order.
func (a *API) Calls(method string) []Call {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.byMethod[method])
}

// AllCalls returns every call so far, of every method (including
// "response_url" posts), in order.
func (a *API) AllCalls() []Call {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.calls)
}

// WaitCalls waits until at least n calls of method were recorded and returns
// them all, in order.
func (a *API) WaitCalls(ctx context.Context, method string, n int) ([]Call, error) {
	w := &callWaiter{n: n, done: make(chan struct{})}
	a.mu.Lock()
	if len(a.byMethod[method]) >= n {
		calls := slices.Clone(a.byMethod[method])
		a.mu.Unlock()
		return calls, nil
	}
	a.waiters[method] = append(a.waiters[method], w)
	a.mu.Unlock()

	if err := a.wait(ctx, w.done); err != nil {
		a.dropWaiter(method, w)
		calls := a.Calls(method)
		if len(calls) >= n {
			return calls, nil
		}
		return calls, fmt.Errorf("wait for %d %s calls (got %d): %w", n, method, len(calls), err)
	}
	return a.Calls(method), nil
}

// WaitCall waits for the first call of method, past or future, for which
// match returns true, and returns it (addition: lets a test or benchmark wait
// for one particular message among thousands without rescanning). match runs
// while the server's record is locked: keep it quick and do not call the
// Server from it.
func (a *API) WaitCall(ctx context.Context, method string, match func(Call) bool) (Call, error) {
	w := &callWaiter{match: match, done: make(chan struct{})}
	a.mu.Lock()
	for _, c := range a.byMethod[method] {
		if match(c) {
			a.mu.Unlock()
			return c, nil
		}
	}
	a.waiters[method] = append(a.waiters[method], w)
	a.mu.Unlock()

	if err := a.wait(ctx, w.done); err != nil {
		if !a.dropWaiter(method, w) {
			return w.got, nil // matched while we were giving up
		}
		return Call{}, fmt.Errorf("wait for a matching %s call: %w", method, err)
	}
	return w.got, nil
}

// dropWaiter removes w; it reports false when w was already satisfied.
func (a *API) dropWaiter(method string, w *callWaiter) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	ws := a.waiters[method]
	i := slices.Index(ws, w)
	if i < 0 {
		return false
	}
	a.waiters[method] = slices.Delete(ws, i, i+1)
	return true
}

// record appends c and wakes the waiters it satisfies.
func (a *API) record(c Call) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls = append(a.calls, c)
	a.byMethod[c.Method] = append(a.byMethod[c.Method], c)
	ws := a.waiters[c.Method]
	if len(ws) == 0 {
		return
	}
	n := len(a.byMethod[c.Method])
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
	a.waiters[c.Method] = kept
}

// Fail queues f for the next calls of method ("response_url" and
// "apps.connections.open" included). Queued failures are consumed in order;
// each applies to f.Times calls (default 1). Calls with a bad token are
// answered invalid_auth and do not consume a failure.
func (a *API) Fail(method string, f Failure) {
	if f.Times <= 0 {
		f.Times = 1
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.failures[method] = append(a.failures[method], f)
}

func (a *API) nextFailure(method string) (Failure, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	q := a.failures[method]
	if len(q) == 0 {
		return Failure{}, false
	}
	f := q[0]
	if q[0].Times--; q[0].Times == 0 {
		a.failures[method] = q[1:]
	}
	return f, true
}

// SetGroupMembers sets the members usergroups.users.list returns for
// groupID. A group never set answers ok:false "no_such_subteam".
func (a *API) SetGroupMembers(groupID string, userIDs ...string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.groups[groupID] = slices.Clone(userIDs)
}

// SetNotInChannel makes chat.postMessage and chat.update to channelID answer
// ok:false "not_in_channel", as Slack does for a private channel the bot was
// not invited to.
func (a *API) SetNotInChannel(channelID string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.notInChannel[channelID] = true
}

// RegisterTrigger makes id acceptable to views.open, once. Registering it
// again (a redelivered envelope) changes nothing.
func (a *API) RegisterTrigger(id string) {
	if id == "" {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.triggers[id] == nil {
		a.triggers[id] = &trigger{issued: time.Now()}
	}
}

// TriggerID returns a fresh trigger id that views.open accepts once
// (addition: lets a test open a view without sending an envelope).
func (a *API) TriggerID() string {
	id := a.newTriggerID()
	a.RegisterTrigger(id)
	return id
}

func (a *API) newTriggerID() string {
	n := a.seqTrigger.Add(1)
	return fmt.Sprintf("%d.738474920.fake%012x", 13345224609+n, n)
}

// NewTS returns a unique, increasing message timestamp.
func (a *API) NewTS() string {
	n := a.seqTS.Add(1)
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

// ServeAPI answers POST /api/{method} and records the call with its answer.
func (a *API) ServeAPI(w http.ResponseWriter, r *http.Request) {
	method := r.PathValue("method")
	c, token, err := readCall(r, method)
	if !a.throttle(r, &c) {
		return
	}
	status, ans := http.StatusOK, object(nil)
	switch {
	case errors.Is(err, errInvalidJSON):
		ans = slackError("invalid_json")
	case err != nil:
		ans = slackError("invalid_form_data")
	case !a.tokenOK(method, token):
		ans = slackError("invalid_auth")
	default:
		if t := a.opts.Throttle; t != nil {
			if retryAfter, ok := t.Admit(c); !ok {
				status, ans = rateLimited(w, retryAfter)
				break
			}
		}
		if f, ok := a.nextFailure(method); ok && f.Delay > 0 {
			// Recorded as it arrives, so a test can wait for a hanging call.
			a.record(c)
			if a.delay(r, f.Delay) {
				status, ans := failure(w, f)
				if ans == nil {
					ans = a.answer(method, c)
				}
				writeJSON(w, status, ans)
			}
			return
		} else if ok {
			status, ans = failure(w, f)
		}
		if ans == nil {
			ans = a.answer(method, c)
		}
	}
	c.Answer, _ = marshalAnswer(ans)
	a.record(c)
	writeJSON(w, status, ans)
}

func (a *API) tokenOK(method, token string) bool {
	want := a.opts.BotToken
	if method == "apps.connections.open" {
		want = a.opts.AppToken
	}
	return token != "" && (want == "" || token == want)
}

// throttle holds c for the Throttle's latency, and then stamps it: that is
// when Slack takes it. It reports false when the client or the server went
// away first.
func (a *API) throttle(r *http.Request, c *Call) bool {
	if a.opts.Throttle == nil {
		return true
	}
	d := a.opts.Throttle.Latency(*c)
	if d <= 0 {
		return true
	}
	if !a.delay(r, d) {
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
func (a *API) delay(r *http.Request, d time.Duration) bool {
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
	case <-a.closing:
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
func (a *API) answer(method string, c Call) object {
	arg := c.args()
	switch method {
	case "apps.connections.open":
		return object{"ok": true, "url": a.opts.ConnectionsOpen()}
	case "auth.test":
		return object{"ok": true, "url": "https://fake.slack.com/", "team": "Fake", "user": "coldtransfer",
			"team_id": "T1", "user_id": a.opts.BotUserID, "bot_id": "B1"}
	case "chat.postMessage":
		return a.postMessage(c, arg)
	case "chat.postEphemeral":
		return a.postEphemeral(arg)
	case "chat.update":
		return a.updateMessage(c, arg)
	case "chat.getPermalink":
		return a.permalink(arg("channel"), arg("message_ts"))
	case "views.open":
		return a.openView(arg)
	case "views.publish":
		return a.publishView(arg)
	case "views.update":
		return a.updateView(arg)
	case "usergroups.users.list":
		return a.groupMembers(arg("usergroup"))
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

func (a *API) postEphemeral(arg func(string) string) object {
	switch {
	case arg("channel") == "":
		return slackError("channel_not_found")
	case arg("user") == "":
		return slackError("user_not_found")
	case arg("text") == "" && arg("blocks") == "" && arg("attachments") == "":
		return slackError("no_text")
	}
	return object{"ok": true, "message_ts": a.NewTS()}
}

func (a *API) groupMembers(group string) object {
	a.mu.Lock()
	users, ok := a.groups[group]
	a.mu.Unlock()
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

// ServeResponseURL answers POST /response/{id} like Slack: 200 "ok" as text.
func (a *API) ServeResponseURL(w http.ResponseWriter, r *http.Request) {
	c := Call{Method: methodResponseURL, Time: time.Now(), URL: requestURL(r)}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if body = bytes.TrimSpace(body); err == nil && json.Valid(body) {
		c.JSON = body
	}
	a.record(c)
	if r.Method != http.MethodPost || c.JSON == nil {
		http.Error(w, "invalid_payload", http.StatusBadRequest)
		return
	}
	if f, ok := a.nextFailure(methodResponseURL); ok {
		if !a.delay(r, f.Delay) {
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

// requestURL is the URL r was sent to, as the server handed it out: its
// scheme, host and path.
func requestURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + r.URL.Path
}
