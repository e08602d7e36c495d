package slackapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/coldtransfer/coldtransfer/internal/fakeslack"
)

// TestChatMessages checks the channel messages against the fake Slack:
// what is sent, and that every failure comes back as the slack-go error
// type the bot's sentences and its callers tell apart.
func TestChatMessages(t *testing.T) {
	const token = "xoxb-1-post"
	blocks := []slack.Block{slack.NewContextBlock("", slack.NewTextBlockObject(slack.MarkdownType, "status <@U1> & co", false, false))}
	tests := []struct {
		name  string
		fail  *fakeslack.Failure
		check func(t *testing.T, err error)
	}{
		{name: "ok", check: func(t *testing.T, err error) {
			if err != nil {
				t.Fatalf("err = %v, want none", err)
			}
		}},
		{name: "ok:false", fail: &fakeslack.Failure{Error: "is_archived"}, check: func(t *testing.T, err error) {
			if code := ErrorCode(err); code != "is_archived" {
				t.Errorf("err = %v, want slack.SlackErrorResponse is_archived (the supervisor is told the channel is archived)", err)
			}
		}},
		{name: "5xx after every retry", fail: &fakeslack.Failure{Status: http.StatusBadGateway, Times: 5}, check: func(t *testing.T, err error) {
			if sc, ok := errors.AsType[slack.StatusCodeError](err); !ok || sc.Code != http.StatusBadGateway {
				t.Errorf("err = %v, want slack.StatusCodeError 502", err)
			}
		}},
		// Retry-After 30 s is past the call's 10 s: no retry.
		{name: "429 past the deadline", fail: &fakeslack.Failure{Status: http.StatusTooManyRequests, RetryAfter: 30},
			check: func(t *testing.T, err error) {
				if rl, ok := errors.AsType[*slack.RateLimitedError](err); !ok || rl.RetryAfter != 30*time.Second {
					t.Errorf("err = %v, want *slack.RateLimitedError after 30s", err)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := fakeslack.New(fakeslack.Options{BotToken: token})
			defer fs.Close()
			api := New(Config{BotToken: token, AppToken: "xapp-1", URL: fs.APIURL(), RetryBaseDelay: time.Millisecond})
			if tt.fail != nil {
				fs.Fail("chat.postMessage", *tt.fail)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			ts, err := api.PostMessage(ctx, PriorityReply, Message{Channel: "C1", ThreadTS: "1.2", Text: "hi <@U1> & co", Blocks: blocks})
			tt.check(t, err)
			if err == nil && ts == "" {
				t.Error("no ts returned for a posted message: the thread reply would have no parent")
			}
			calls := fs.Calls("chat.postMessage")
			if len(calls) == 0 {
				t.Fatal("nothing reached chat.postMessage")
			}
			c := calls[0]
			if c.Arg("channel") != "C1" || c.Arg("thread_ts") != "1.2" || c.Arg("text") != "hi <@U1> & co" {
				t.Errorf("sent %v, want channel C1, thread_ts 1.2 and the text as it is", c.Form)
			}
			var sent []struct {
				Elements []struct{ Text string }
			}
			if err := json.Unmarshal([]byte(c.Arg("blocks")), &sent); err != nil || len(sent) != 1 ||
				len(sent[0].Elements) != 1 || sent[0].Elements[0].Text != "status <@U1> & co" {
				t.Errorf("blocks = %s (%v), want the context block with its text", c.Arg("blocks"), err)
			}
		})
	}
}

func TestChatUpdate(t *testing.T) {
	fs := fakeslack.New(fakeslack.Options{BotToken: "xoxb-1"})
	defer fs.Close()
	api := New(Config{BotToken: "xoxb-1", AppToken: "xapp-1", URL: fs.APIURL()})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ts, err := api.PostMessage(ctx, PriorityReply, Message{Channel: "C1", Text: "first"})
	if err != nil {
		t.Fatal(err)
	}
	if err := api.UpdateMessage(ctx, Message{Channel: "C1", TS: ts, Text: "second"}); err != nil {
		t.Fatalf("update of a posted message: %v", err)
	}
	if c := fs.Calls("chat.update")[0]; c.Arg("ts") != ts || c.Arg("text") != "second" {
		t.Errorf("chat.update got ts %q text %q, want %q and \"second\"", c.Arg("ts"), c.Arg("text"), ts)
	}
	if err := api.UpdateMessage(ctx, Message{Channel: "C1", TS: "9.9", Text: "x"}); ErrorCode(err) != "message_not_found" {
		t.Errorf("update of an unknown message: err = %v, want message_not_found", err)
	}
}
