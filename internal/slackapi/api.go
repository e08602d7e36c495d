// Package slackapi is every request the bot makes to Slack's Web API: one
// retrying HTTP client that honours Retry-After, takes turns per channel
// while Slack rate-limits one (lanes.go), reads every answer within one
// bound and counts every attempt; and the few methods the bot calls.
package slackapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/slack-go/slack"
	"go.uber.org/zap"

	"github.com/coldtransfer/coldtransfer/internal/metrics"
	"github.com/coldtransfer/coldtransfer/internal/retryafter"
)

// Config is how the bot reaches Slack's Web API.
type Config struct {
	BotToken string // xoxb-…
	AppToken string // xapp-…, for apps.connections.open
	URL      string // Web API base URL, ending with "/"

	// HTTPClient sends every request; nil means a client with a 10 s
	// timeout per attempt.
	HTTPClient *http.Client
	// RetryBaseDelay is the first backoff after a 5xx or a network error;
	// 0 means 250 ms. Tests shorten it.
	RetryBaseDelay time.Duration
	// Metrics counts every attempt of every request; nil counts nothing.
	Metrics *metrics.Metrics
}

// API is the bot's Slack Web API client. Every request it sends, including
// posts to a slash command's response_url, goes through one retry policy:
// 429 waits for Retry-After, 5xx and network errors back off and try again.
type API struct {
	client *slack.Client
	http   *retryingDoer
	url    string // Web API base URL, ending with "/"
	token  string // bot token, for the keep-warm client (warm.go)
}

// New returns a Web API client for cfg.
func New(cfg Config) *API {
	hc := cfg.HTTPClient
	if hc == nil {
		// The default transport keeps 2 idle connections per host: with
		// many transfers at once nearly every call would dial anew.
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 64
		t.MaxConnsPerHost = 64
		hc = &http.Client{Timeout: 10 * time.Second, Transport: t}
	}
	doer := &retryingDoer{
		client:        hc,
		maxAttempts:   5,
		baseDelay:     cfg.RetryBaseDelay,
		maxDelay:      5 * time.Second,
		maxRetryAfter: 30 * time.Second,
		metrics:       cfg.Metrics,
		apiURL:        parseAPIURL(cfg.URL),
		lanes:         newChannelLanes(channelPace, channelQuiet, channelBurst),
	}
	if doer.baseDelay <= 0 {
		doer.baseDelay = 250 * time.Millisecond
	}
	return &API{
		client: slack.New(cfg.BotToken,
			slack.OptionAPIURL(cfg.URL),
			slack.OptionAppLevelToken(cfg.AppToken),
			slack.OptionHTTPClient(doer),
		),
		http:  doer,
		url:   cfg.URL,
		token: cfg.BotToken,
	}
}

// GroupMembers lists the user ids in a Slack user group
// (usergroups.users.list). It makes *API an authz.GroupSource.
func (a *API) GroupMembers(ctx context.Context, groupID string) ([]string, error) {
	members, err := a.client.GetUserGroupMembersContext(ctx, groupID)
	if err != nil {
		return nil, fmt.Errorf("usergroups.users.list: %w", err)
	}
	return members, nil
}

// Identity is who the bot token belongs to, as auth.test says.
type Identity struct {
	UserID string
	BotID  string
	Team   string
	TeamID string
}

// TokenRejectedError says that Slack refused one of the tokens: restarting
// will not help, the operator must fix the variable.
type TokenRejectedError struct {
	Variable string // SLACK_BOT_TOKEN or SLACK_APP_TOKEN
	Code     string // Slack's error code, e.g. invalid_auth
}

func (e *TokenRejectedError) Error() string {
	hint := "check that it is copied whole and that the app is still installed"
	switch e.Code {
	case "missing_scope":
		hint = "give the app-level token the connections:write scope"
	case "not_allowed_token_type":
		hint = "it is the wrong kind of token"
	case "token_revoked", "account_inactive":
		hint = "reinstall the app and copy the new token"
	}
	return fmt.Sprintf("Slack rejected %s (%s): %s", e.Variable, e.Code, hint)
}

// rejectedTokenCodes are the Slack errors that mean a token will never work.
var rejectedTokenCodes = map[string]bool{
	"invalid_auth":           true,
	"not_authed":             true,
	"account_inactive":       true,
	"token_revoked":          true,
	"token_expired":          true,
	"not_allowed_token_type": true,
	"missing_scope":          true,
}

// TokenRejected returns a *TokenRejectedError for variable when err is a
// Slack error that no retry can fix, and nil otherwise.
func TokenRejected(variable string, err error) error {
	if resp, ok := errors.AsType[slack.SlackErrorResponse](err); ok && rejectedTokenCodes[resp.Err] {
		return &TokenRejectedError{Variable: variable, Code: resp.Err}
	}
	return nil
}

// CheckAuth calls auth.test with the bot token. A token Slack rejects ends it
// with a *TokenRejectedError; an unreachable Slack is retried with backoff
// until ctx ends. Every failure is logged as it happens, and the third, at
// error level, says what to check.
func (a *API) CheckAuth(ctx context.Context, log *zap.Logger) (Identity, error) {
	// After this many failures in a row, an operator is told what to check:
	// a wrong URL or a blocked network does not heal by itself.
	const unreachableAfter = 3
	// One attempt per call: the doer's own retries would keep the first
	// failures silent for seconds, and this loop retries anyway, saying so.
	once := *a.http
	once.maxAttempts = 1
	client := slack.New(a.token, slack.OptionAPIURL(a.url), slack.OptionHTTPClient(&once))
	where := a.url + "auth.test"
	delay := time.Second
	for attempt := 1; ; attempt++ {
		resp, err := client.AuthTestContext(ctx)
		if err == nil {
			return Identity{UserID: resp.UserID, BotID: resp.BotID, Team: resp.Team, TeamID: resp.TeamID}, nil
		}
		if rejected := TokenRejected("SLACK_BOT_TOKEN", err); rejected != nil {
			return Identity{}, rejected
		}
		if ctx.Err() != nil {
			return Identity{}, fmt.Errorf("auth.test: %w", ctx.Err())
		}
		if rl, ok := errors.AsType[*slack.RateLimitedError](err); ok {
			delay = max(delay, rl.RetryAfter)
		}
		fields := []zap.Field{zap.String("url", where), zap.Int("attempt", attempt), zap.Error(err), zap.String("retry_in", delay.String())}
		if attempt == unreachableAfter {
			log.Error("Slack still unreachable: check that this host can reach the url (proxy, firewall, DNS), "+
				"and that SLACK_API_URL is right", fields...)
		} else {
			log.Warn("slack unreachable, retrying auth.test", fields...)
		}
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return Identity{}, fmt.Errorf("auth.test: %w", ctx.Err())
		}
		delay = min(2*delay, 30*time.Second)
	}
}

// Respond posts an ephemeral message to a slash command's response_url. It
// works in any conversation the command was typed in, even a private channel
// the bot is not a member of.
func (a *API) Respond(ctx context.Context, responseURL, text string) error {
	body, err := json.Marshal(struct {
		ResponseType    string `json:"response_type"`
		ReplaceOriginal bool   `json:"replace_original"`
		Text            string `json:"text"`
	}{"ephemeral", false, text})
	if err != nil {
		return fmt.Errorf("encode response: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, responseURL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("response_url: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.http.Do(req)
	if err != nil {
		// A response_url is a credential of sorts: keep it out of the error.
		if ue, ok := errors.AsType[*url.Error](err); ok {
			err = ue.Err
		}
		return fmt.Errorf("response_url: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("response_url: HTTP %d", resp.StatusCode)
	}
	return nil
}

// retryingDoer sends HTTP requests to Slack and retries the ones Slack asks
// us to retry. slack-go's own retry wrapper only serves *slack.Client, and
// response_url posts need the same policy, so the bot has this one doer for
// both.
type retryingDoer struct {
	client        *http.Client
	lanes         *channelLanes // channels Slack refused messages in lately; nil: none held
	maxAttempts   int
	baseDelay     time.Duration
	maxDelay      time.Duration
	maxRetryAfter time.Duration
	metrics       *metrics.Metrics
	apiURL        *url.URL // the Web API base URL, to name methods by
}

// Do sends req, retrying a 429 after its Retry-After, and a 5xx or a network
// error after an exponential backoff with jitter. It gives up after
// maxAttempts, when the wait would outlast req's context, or when the body
// cannot be sent again.
func (d *retryingDoer) Do(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	turn := d.lanes.turn(ctx) // nil unless the request posts in a channel (lanes.go)
	method := d.method(req.URL)
	// A message Slack may have received must not be sent again: it would
	// stand twice in the channel. Whether the request was written is what
	// tells a failed dial (safe to retry) from a lost answer (not); a
	// repeatable request is retried either way, and is not traced.
	var wrote atomic.Bool
	if !repeatable[method] {
		req = req.WithContext(httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
			WroteRequest: func(httptrace.WroteRequestInfo) { wrote.Store(true) },
		}))
	}
	for attempt, sent := 1, false; ; attempt++ {
		if sent && req.GetBody != nil {
			body, err := req.GetBody()
			if err != nil {
				return nil, err
			}
			req.Body = body
		}
		if err := turn.wait(ctx); err != nil {
			return nil, err
		}
		wrote.Store(false)
		resp, err := bufferAnswer(d.client.Do(req))
		// The lane learns of a 429 before the attempt is counted, so that
		// whoever reads the count finds the channel held.
		refused := req.GetBody != nil && turn.refused(resp)
		d.countAs(method, resp, err)
		sent = true
		if err != nil && wrote.Load() && !repeatable[method] {
			return nil, &MaybeSentError{Method: method, Err: err}
		}
		if refused {
			// A 429 in a channel: the channel's lane says when to try again,
			// most urgent message first; it is not an attempt.
			if deadline, ok := ctx.Deadline(); ok && turn.nextSlot().After(deadline) {
				return resp, err
			}
			resp.Body.Close()
			attempt--
			continue
		}
		wait, retry := d.retryAfter(attempt, resp, err)
		if !retry || ctx.Err() != nil || (req.Body != nil && req.GetBody == nil) {
			return resp, err
		}
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < wait {
			return resp, err
		}
		if resp != nil {
			resp.Body.Close()
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// repeatable are the Web API methods that may be sent again after a
// request that may have reached Slack: reading, or replacing a message or
// view with the same content. Anything else (chat.postMessage,
// chat.postEphemeral, a response_url post) would show twice.
var repeatable = map[string]bool{
	"auth.test": true, "apps.connections.open": true, "usergroups.users.list": true, "users.info": true,
	"chat.update": true, "chat.getPermalink": true, "views.open": true, "views.update": true, "views.publish": true,
}

// MaybeSentError is a request that Slack may have received and acted on
// (it was sent whole, then the answer was lost or timed out): it is not
// sent again, and whoever sent it must not assume it failed.
type MaybeSentError struct {
	Method string
	Err    error
}

func (e *MaybeSentError) Error() string {
	return fmt.Sprintf("%s sent, but Slack's answer was lost: %v", e.Method, e.Err)
}

func (e *MaybeSentError) Unwrap() error { return e.Err }

// bufferAnswer reads a 200 answer's body whole, within maxAnswer, for
// every request whether or not metrics are on: one bound, one behaviour.
func bufferAnswer(resp *http.Response, err error) (*http.Response, error) {
	if err != nil || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	if _, ok := resp.Body.(bufferedBody); ok {
		return resp, nil
	}
	body, err := readBody(resp)
	resp.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("read Slack's answer: %w", err)
	}
	resp.Body = bufferedBody{bytes.NewReader(body), body}
	return resp, nil
}

// retryAfter says whether the outcome of attempt is worth another try, and
// after how long.
func (d *retryingDoer) retryAfter(attempt int, resp *http.Response, err error) (time.Duration, bool) {
	if attempt >= d.maxAttempts {
		return 0, false
	}
	switch {
	case errors.Is(err, errAnswerTooLong):
		return 0, false // it would be as long again
	case err != nil:
		return d.backoff(attempt), true
	case resp.StatusCode == http.StatusTooManyRequests:
		return min(retryafter.AtLeastASecond(resp.Header.Get("Retry-After"), time.Now()), d.maxRetryAfter), true
	case resp.StatusCode >= 500:
		return d.backoff(attempt), true
	}
	return 0, false
}

func (d *retryingDoer) backoff(attempt int) time.Duration {
	wait := min(d.baseDelay<<(attempt-1), d.maxDelay)
	return wait + rand.N(wait/2+1)
}

// ErrorCode returns Slack's error code (e.g. not_in_channel) when err
// carries one, and "" otherwise.
func ErrorCode(err error) string {
	if resp, ok := errors.AsType[slack.SlackErrorResponse](err); ok {
		return resp.Err
	}
	return ""
}

// SocketModeError turns what a Socket Mode client's RunContext returned
// into the bot's error: nil when it ended with its context, a
// *TokenRejectedError when Slack refused the app-level token.
func SocketModeError(err error) error {
	if err == nil || errors.Is(err, context.Canceled) {
		return nil
	}
	if rejected := TokenRejected("SLACK_APP_TOKEN", err); rejected != nil {
		return rejected
	}
	if sc, ok := errors.AsType[slack.StatusCodeError](err); ok && sc.Code == http.StatusNotFound {
		return &TokenRejectedError{Variable: "SLACK_APP_TOKEN", Code: "HTTP 404 from apps.connections.open"}
	}
	return fmt.Errorf("socket mode: %w", err)
}
