package slackbot

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/slack-go/slack"
)

// The channel messages of a transfer (the announcement, the thread reply,
// the ✅/❌ mark) are the bot's hot path: three Web API calls per transfer.
// They go as JSON bodies with the token as a bearer, which Slack accepts
// for chat.postMessage and chat.update, rather than through slack-go's form
// encoding: the blocks are encoded once instead of once as JSON and again
// as a form value three times longer, and of the answer only ok, error and
// ts are read. Errors are slack-go's own types, so that callers and
// messages.go tell them apart as before.

// chatMessage is the body of chat.postMessage and chat.update.
type chatMessage struct {
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

// postMessage posts msg with chat.postMessage and returns its ts. prio
// orders it among the channel's messages while Slack limits the channel
// (lanes.go).
func (a *API) postMessage(ctx context.Context, prio priority, msg chatMessage) (string, error) {
	ans, err := a.chat(inLane(ctx, msg.Channel, prio), "chat.postMessage", msg)
	return ans.TS, err
}

// updateMessage replaces the message msg.TS with chat.update, as a mark:
// the least urgent of a channel's messages.
func (a *API) updateMessage(ctx context.Context, msg chatMessage) error {
	_, err := a.chat(inLane(ctx, msg.Channel, prioMark), "chat.update", msg)
	return err
}

func (a *API) chat(ctx context.Context, method string, msg chatMessage) (chatAnswer, error) {
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
		secs, err := strconv.ParseInt(resp.Header.Get("Retry-After"), 10, 64)
		if err != nil {
			return chatAnswer{}, fmt.Errorf("%s: Retry-After: %w", method, err)
		}
		return chatAnswer{}, &slack.RateLimitedError{RetryAfter: time.Duration(secs) * time.Second}
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
