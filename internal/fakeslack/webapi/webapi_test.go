package webapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
)

func TestWebAPI(t *testing.T) {
	s := newServer(t, Options{BotUserID: "UBOT"})
	api := newAPI(s, botToken)
	ctx := timeout(t, 5*time.Second)

	t.Run("auth.test", func(t *testing.T) {
		resp, err := api.AuthTestContext(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if resp.UserID != "UBOT" || resp.BotID != "B1" || resp.TeamID != "T1" || resp.User != "coldtransfer" {
			t.Errorf("auth.test = %+v", resp)
		}
	})

	var parentTS string
	t.Run("chat.postMessage", func(t *testing.T) {
		blocks := slack.MsgOptionBlocks(slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "*Cold transfer*", false, false), nil, nil))
		ch, ts, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("Cold transfer requested", false), blocks)
		if err != nil {
			t.Fatal(err)
		}
		if ch != "C1" || ts == "" {
			t.Errorf("postMessage = %q, %q", ch, ts)
		}
		parentTS = ts
		_, reply, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("done", false), slack.MsgOptionTS(ts))
		if err != nil {
			t.Fatal(err)
		}
		if reply <= ts {
			t.Errorf("reply ts %q not after parent ts %q", reply, ts)
		}
		calls := s.Calls("chat.postMessage")
		if len(calls) != 2 {
			t.Fatalf("%d chat.postMessage calls recorded, want 2", len(calls))
		}
		c := calls[0]
		if c.Arg("channel") != "C1" || c.Arg("text") != "Cold transfer requested" || !strings.Contains(c.Arg("blocks"), "*Cold transfer*") {
			t.Errorf("recorded call = %+v", c.Form)
		}
		if c.Form.Has("token") || c.JSON != nil {
			t.Errorf("recorded form keeps the token or has JSON: %+v", c)
		}
		if calls[1].Arg("thread_ts") != ts {
			t.Errorf("reply thread_ts = %q, want %q", calls[1].Arg("thread_ts"), ts)
		}
		// As Slack writes it: a client may read "ok" without parsing the rest.
		if !bytes.HasPrefix(c.Answer, []byte(`{"ok":true,"channel":"C1",`)) {
			t.Errorf("answer %s: want it to begin with ok, then the other fields sorted", c.Answer)
		}
	})

	t.Run("chat.postEphemeral", func(t *testing.T) {
		ts, err := api.PostEphemeralContext(ctx, "C1", "U1", slack.MsgOptionText("not allowed", false))
		if err != nil || ts == "" {
			t.Fatalf("postEphemeral = %q, %v", ts, err)
		}
		if c := s.Calls("chat.postEphemeral")[0]; c.Arg("user") != "U1" || c.Arg("channel") != "C1" || c.Arg("text") != "not allowed" {
			t.Errorf("recorded call = %+v", c.Form)
		}
	})

	t.Run("chat.update", func(t *testing.T) {
		ch, ts, text, err := api.UpdateMessageContext(ctx, "C1", parentTS, slack.MsgOptionText("✅ transferred", false))
		if err != nil || ch != "C1" || ts != parentTS || text != "✅ transferred" {
			t.Errorf("update = %q %q %q %v", ch, ts, text, err)
		}
		_, _, _, err = api.UpdateMessageContext(ctx, "C1", "1.000001", slack.MsgOptionText("x", false))
		assertSlackError(t, err, "message_not_found")
	})

	t.Run("views.open", func(t *testing.T) {
		trigger := s.TriggerID()
		view := slack.ModalViewRequest{
			Type:            slack.VTModal,
			CallbackID:      "cold_transfer",
			Title:           slack.NewTextBlockObject(slack.PlainTextType, "Cold transfer", false, false),
			Submit:          slack.NewTextBlockObject(slack.PlainTextType, "Transfer", false, false),
			PrivateMetadata: `{"channel":"C1"}`,
			Blocks: slack.Blocks{BlockSet: []slack.Block{slack.NewInputBlock("to",
				slack.NewTextBlockObject(slack.PlainTextType, "Transfer to", false, false), nil,
				slack.NewPlainTextInputBlockElement(nil, "to"))}},
		}
		resp, err := api.OpenViewContext(ctx, trigger, view)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(resp.View.ID, "V") || resp.View.CallbackID != "cold_transfer" ||
			resp.View.PrivateMetadata != `{"channel":"C1"}` || resp.View.Title.Text != "Cold transfer" {
			t.Errorf("view = %+v", resp.View)
		}
		c := s.Calls("views.open")[0]
		if c.JSON == nil || c.Form != nil || c.Arg("trigger_id") != trigger || !strings.Contains(c.Arg("view"), `"callback_id":"cold_transfer"`) {
			t.Errorf("recorded call = %s", c.JSON)
		}

		_, err = api.OpenViewContext(ctx, trigger, view)
		assertSlackError(t, err, "exchanged_trigger_id")
		_, err = api.OpenViewContext(ctx, "123.456.never-issued", view)
		assertSlackError(t, err, "invalid_trigger_id")
	})

	t.Run("usergroups.users.list", func(t *testing.T) {
		s.SetGroupMembers("S1", "U1", "U2")
		s.SetGroupMembers("S2")
		users, err := api.GetUserGroupMembersContext(ctx, "S1")
		if err != nil || !slices.Equal(users, []string{"U1", "U2"}) {
			t.Errorf("S1 members = %v, %v", users, err)
		}
		users, err = api.GetUserGroupMembersContext(ctx, "S2")
		if err != nil || len(users) != 0 {
			t.Errorf("S2 members = %v, %v", users, err)
		}
		_, err = api.GetUserGroupMembersContext(ctx, "S404")
		assertSlackError(t, err, "no_such_subteam")
		if got := s.Calls("usergroups.users.list")[0].Arg("usergroup"); got != "S1" {
			t.Errorf("usergroup = %q", got)
		}
	})

	t.Run("users.info", func(t *testing.T) {
		u, err := api.GetUserInfoContext(ctx, "U1")
		if err != nil || u.ID != "U1" {
			t.Errorf("users.info = %+v, %v", u, err)
		}
	})

	t.Run("response_url", func(t *testing.T) {
		u := s.ResponseURL()
		if err := slack.PostWebhookContext(ctx, u, &slack.WebhookMessage{Text: "not allowed", ResponseType: "ephemeral"}); err != nil {
			t.Fatal(err)
		}
		// The chat.* path through a response URL parses Slack's text/plain "ok".
		if _, _, err := api.PostMessageContext(ctx, "", slack.MsgOptionResponseURL(u, slack.ResponseTypeEphemeral), slack.MsgOptionText("again", false)); err != nil {
			t.Fatal(err)
		}
		calls := s.Calls("response_url")
		if len(calls) != 2 || calls[0].URL != u || calls[0].Form != nil ||
			calls[0].Arg("text") != "not allowed" || calls[0].Arg("response_type") != "ephemeral" || calls[1].Arg("text") != "again" {
			t.Errorf("response_url calls = %+v", calls)
		}
		if all := s.AllCalls(); all[len(all)-1].Method != "response_url" {
			t.Errorf("AllCalls does not end with the response_url post: %v", all[len(all)-1].Method)
		}
	})

	t.Run("unknown method", func(t *testing.T) {
		resp, err := http.PostForm(s.APIURL()+"chat.meMessage", url.Values{"token": {botToken}})
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			OK    bool
			Error string
		}
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if err != nil || body.OK || body.Error != "unknown_method" {
			t.Errorf("answer = %+v, %v", body, err)
		}
		if len(s.Calls("chat.meMessage")) != 1 {
			t.Error("unknown method not recorded")
		}
	})
}

func assertSlackError(t testing.TB, err error, want string) {
	t.Helper()
	var se slack.SlackErrorResponse
	if !errors.As(err, &se) || se.Err != want {
		t.Errorf("error = %v (%T), want SlackErrorResponse %q", err, err, want)
	}
}

func TestWrongTokenIsInvalidAuth(t *testing.T) {
	s := newServer(t, Options{})
	ctx := timeout(t, 5*time.Second)
	_, err := newAPI(s, "xoxb-wrong").AuthTestContext(ctx)
	assertSlackError(t, err, "invalid_auth")
	_, _, err = newAPI(s, appToken).PostMessageContext(ctx, "C1", slack.MsgOptionText("x", false))
	assertSlackError(t, err, "invalid_auth")
	_, err = newAPI(s, "xoxb-wrong").OpenViewContext(ctx, s.TriggerID(), slack.ModalViewRequest{Type: slack.VTModal})
	assertSlackError(t, err, "invalid_auth")
	// apps.connections.open wants the app token, not the bot token.
	_, _, err = slack.New(botToken, slack.OptionAPIURL(s.APIURL()), slack.OptionAppLevelToken(botToken)).StartSocketModeContext(ctx)
	assertSlackError(t, err, "invalid_auth")
	if n := len(s.AllCalls()); n != 4 {
		t.Errorf("%d calls recorded, want 4 (rejected calls are recorded too)", n)
	}
}

func TestFailureInjection(t *testing.T) {
	s := newServer(t, Options{})
	api := newAPI(s, botToken)
	ctx := timeout(t, 5*time.Second)
	post := func() error {
		_, _, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("x", false))
		return err
	}

	s.Fail("chat.postMessage", Failure{Status: http.StatusTooManyRequests, RetryAfter: 1})
	var rl *slack.RateLimitedError
	if err := post(); !errors.As(err, &rl) || rl.RetryAfter != time.Second {
		t.Errorf("error = %v, want *slack.RateLimitedError after 1s", err)
	}

	s.Fail("chat.postMessage", Failure{Status: http.StatusInternalServerError, Times: 2})
	for range 2 {
		var sc slack.StatusCodeError
		if err := post(); !errors.As(err, &sc) || sc.Code != 500 {
			t.Errorf("error = %v, want slack.StatusCodeError 500", err)
		}
	}

	s.Fail("chat.postMessage", Failure{Error: "not_in_channel"})
	assertSlackError(t, post(), "not_in_channel")

	if err := post(); err != nil {
		t.Errorf("after the queued failures: %v", err)
	}
	if n := len(s.Calls("chat.postMessage")); n != 5 {
		t.Errorf("%d calls recorded, want 5", n)
	}

	s.SetNotInChannel("CPRIV")
	_, _, err := api.PostMessageContext(ctx, "CPRIV", slack.MsgOptionText("x", false))
	assertSlackError(t, err, "not_in_channel")

	s.Fail("response_url", Failure{Status: http.StatusNotFound})
	if err := slack.PostWebhookContext(ctx, s.ResponseURL(), &slack.WebhookMessage{Text: "x"}); err == nil {
		t.Error("response_url failure not injected")
	}
}

func TestFailureDelay(t *testing.T) {
	s := newServer(t, Options{})
	api := newAPI(s, botToken)

	s.Fail("auth.test", Failure{Delay: time.Hour})
	short, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := api.AuthTestContext(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error = %v, want the client's deadline", err)
	}

	// A pure delay answers normally afterwards.
	s.Fail("auth.test", Failure{Delay: 20 * time.Millisecond})
	start := time.Now()
	if _, err := api.AuthTestContext(timeout(t, 5*time.Second)); err != nil || time.Since(start) < 20*time.Millisecond {
		t.Errorf("delayed auth.test = %v after %v", err, time.Since(start))
	}
}

func TestWaitCalls(t *testing.T) {
	s := newServer(t, Options{})
	api := newAPI(s, botToken)
	ctx := timeout(t, 5*time.Second)

	type result struct {
		calls []Call
		err   error
	}
	counted := make(chan result, 1)
	go func() {
		calls, err := s.WaitCalls(ctx, "chat.postMessage", 3)
		counted <- result{calls, err}
	}()
	matched := make(chan Call, 1)
	go func() {
		c, err := s.WaitCall(ctx, "chat.postMessage", func(c Call) bool { return c.Arg("text") == "two" })
		if err != nil {
			t.Error(err)
		}
		matched <- c
	}()
	for _, text := range []string{"one", "two", "three"} {
		if _, _, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText(text, false)); err != nil {
			t.Fatal(err)
		}
	}
	if r := <-counted; r.err != nil || len(r.calls) != 3 {
		t.Errorf("WaitCalls = %d calls, %v", len(r.calls), r.err)
	}
	if c := <-matched; c.Arg("text") != "two" {
		t.Errorf("WaitCall matched %q", c.Arg("text"))
	}
	// Already there: no wait.
	if c, err := s.WaitCall(ctx, "chat.postMessage", func(c Call) bool { return c.Arg("text") == "one" }); err != nil || c.Arg("text") != "one" {
		t.Errorf("WaitCall on a past call = %v, %v", c, err)
	}
	short, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	if calls, err := s.WaitCalls(short, "chat.postMessage", 4); !errors.Is(err, context.DeadlineExceeded) || len(calls) != 3 {
		t.Errorf("WaitCalls past its deadline = %d calls, %v", len(calls), err)
	}
}

func BenchmarkPostMessage(b *testing.B) {
	s := newServer(b, Options{})
	api := slack.New(botToken, slack.OptionAPIURL(s.APIURL()),
		slack.OptionHTTPClient(&http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}))
	ctx := timeout(b, time.Minute)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, _, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("x", false)); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
