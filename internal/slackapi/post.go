package slackapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/coldtransfer/coldtransfer/internal/retryafter"
)

// The channel messages of a transfer (the announcement, the thread reply,
// the ✅/❌ mark) are the bot's hot path: three Web API calls per transfer.
// They go as JSON bodies with the token as a bearer, which Slack accepts
// for chat.postMessage and chat.update, rather than through slack-go's form
// encoding: the blocks are encoded once instead of once as JSON and again
// as a form value three times longer, and of the answer only ok, error and
// ts are read. Errors are slack-go's own types, so that callers and
// messages.go tell them apart as before.

// Message is the body of chat.postMessage and chat.update.
type Message struct {
	Channel  string        `json:"channel"`
	TS       string        `json:"ts,omitempty"`        // chat.update: the message to replace
	ThreadTS string        `json:"thread_ts,omitempty"` // chat.postMessage: reply in this thread
	Text     string        `json:"text"`
	Blocks   []slack.Block `json:"blocks,omitempty"`
}

// chatAnswer is what the bot reads of Slack's answer.
type chatAnswer struct {
	OK       bool                   `json:"ok"`
	Error    string                 `json:"error"`
	TS       string                 `json:"ts"`
	Metadata slack.ResponseMetadata `json:"response_metadata"`
}

// PostMessage posts msg with chat.postMessage and returns its ts. prio
// orders it among the channel's messages while Slack limits the channel
// (lanes.go). A message that may have reached Slack is never sent again:
// its error is then a *MaybeSentError.
func (a *API) PostMessage(ctx context.Context, prio Priority, msg Message) (string, error) {
	ans, err := a.chat(inLane(ctx, msg.Channel, prio), "chat.postMessage", msg)
	return ans.TS, err
}

// UpdateMessage replaces the message msg.TS with chat.update, as a mark:
// the least urgent of a channel's messages.
func (a *API) UpdateMessage(ctx context.Context, msg Message) error {
	_, err := a.chat(inLane(ctx, msg.Channel, PriorityMark), "chat.update", msg)
	return err
}

func (a *API) chat(ctx context.Context, method string, msg Message) (chatAnswer, error) {
	var buf bytes.Buffer
	buf.Grow(1 << 10) // a message's JSON, at once rather than in doublings from 64 bytes
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // Slack reads <@U…> as it is
	if err := enc.Encode(msg); err != nil {
		return chatAnswer{}, fmt.Errorf("%s: encode: %w", method, err)
	}
	body := buf.Bytes()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.url+method, bytes.NewReader(body))
	if err != nil {
		return chatAnswer{}, err
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Authorization", "Bearer "+a.token)
	resp, err := a.http.Do(req)
	if err != nil {
		return chatAnswer{}, err
	}
	defer resp.Body.Close()
	// What slack-go's checkStatusCode returns, for the same answers.
	if resp.StatusCode == http.StatusTooManyRequests && resp.Header.Get("Retry-After") != "" {
		return chatAnswer{}, &slack.RateLimitedError{RetryAfter: retryafter.AtLeastASecond(resp.Header.Get("Retry-After"), time.Now())}
	}
	if resp.StatusCode != http.StatusOK {
		return chatAnswer{}, slack.StatusCodeError{Code: resp.StatusCode, Status: resp.Status}
	}
	var ans chatAnswer
	answer, err := readBody(resp) // read to the end, so that the connection is reused
	if err == nil {
		err = json.Unmarshal(answer, &ans)
	}
	if err != nil {
		return chatAnswer{}, fmt.Errorf("%s: read the answer: %w", method, err)
	}
	if !ans.OK {
		return ans, slack.SlackErrorResponse{Err: ans.Error, ResponseMetadata: ans.Metadata}
	}
	return ans, nil
}

// PostEphemeral posts text to user in channel, seen by them only
// (chat.postEphemeral).
func (a *API) PostEphemeral(ctx context.Context, channel, user, text string) error {
	if _, err := a.client.PostEphemeralContext(ctx, channel, user, slack.MsgOptionText(text, false)); err != nil {
		return fmt.Errorf("chat.postEphemeral: %w", err)
	}
	return nil
}

// OpenView opens view with the trigger id of the interaction that asked
// for it (views.open). The trigger id lives 3 s and opens one view.
func (a *API) OpenView(ctx context.Context, triggerID string, view slack.ModalViewRequest) error {
	if _, err := a.client.OpenViewContext(ctx, triggerID, view); err != nil {
		return fmt.Errorf("views.open: %w", err)
	}
	return nil
}

// ChannelHeld reports whether Slack has refused a message in channel
// lately, so that the channel's messages take turns (lanes.go).
func (a *API) ChannelHeld(channel string) bool { return a.http.lanes.isHeld(channel) }

// URL is the Web API base URL, ending with "/".
func (a *API) URL() string { return a.url }

// SocketMode returns a Socket Mode client on this API's app-level token
// and HTTP client, for the bot's event loop.
func (a *API) SocketMode(opts ...socketmode.Option) *socketmode.Client {
	return socketmode.New(a.client, opts...)
}
