package webapi

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
)

func section(text string) slack.Block {
	return slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, text, false, false), nil, nil)
}

func homeView(texts ...string) slack.HomeTabViewRequest {
	v := slack.HomeTabViewRequest{Type: slack.VTHomeTab, CallbackID: "home"}
	for _, t := range texts {
		v.Blocks.BlockSet = append(v.Blocks.BlockSet, section(t))
	}
	return v
}

func publish(ctx context.Context, api *slack.Client, user string, view slack.HomeTabViewRequest, hash string) (*slack.ViewResponse, error) {
	req := slack.PublishViewContextRequest{UserID: user, View: view}
	if hash != "" {
		req.Hash = &hash
	}
	return api.PublishViewContext(ctx, req)
}

func TestViewsPublish(t *testing.T) {
	s := newServer(t, Options{})
	api := newAPI(s, botToken)
	ctx := timeout(t, 5*time.Second)

	waited := make(chan HomeTab, 1)
	go func() {
		h, err := s.WaitHomeView(ctx, "U1", func(h HomeTab) bool { return bytes.Contains(h.View, []byte("second")) })
		if err != nil {
			t.Error(err)
		}
		waited <- h
	}()

	first, err := publish(ctx, api, "U1", homeView("first"), "")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(first.View.ID, "V") || first.View.Hash == "" || first.View.Type != slack.VTHomeTab || first.View.TeamID != "T1" {
		t.Errorf("published view = %+v", first.View)
	}
	second, err := publish(ctx, api, "U1", homeView("second"), first.View.Hash)
	if err != nil {
		t.Fatalf("publish with the latest hash: %v", err)
	}
	if second.View.ID != first.View.ID || second.View.Hash == first.View.Hash {
		t.Errorf("second publish: id %s hash %s; want the same id %s, a new hash", second.View.ID, second.View.Hash, first.View.ID)
	}
	_, err = publish(ctx, api, "U1", homeView("stale"), first.View.Hash)
	assertSlackError(t, err, "hash_conflict")
	_, err = publish(ctx, api, "U2", homeView("x"), "1.never-given")
	assertSlackError(t, err, "hash_conflict")

	h, ok := s.HomeView("U1")
	if !ok || h.ID != first.View.ID || h.Hash != second.View.Hash {
		t.Fatalf("HomeView = %+v, %v; want the second publish", h, ok)
	}
	v, err := h.Decode()
	if err != nil || len(v.Blocks.BlockSet) != 1 || !strings.Contains(string(h.View), "second") {
		t.Errorf("the Home tab decodes to %+v, %v; want the second view's one block", v, err)
	}
	if got := <-waited; got.Hash != second.View.Hash {
		t.Errorf("WaitHomeView = %+v, want the second publish", got)
	}
	if _, ok := s.HomeView("U2"); ok {
		t.Error("U2 has a Home tab after a refused publish")
	}
	// Without a hash, a publish replaces whatever is there.
	if _, err := publish(ctx, api, "U1", homeView("third"), ""); err != nil {
		t.Errorf("publish without a hash: %v", err)
	}

	calls := s.Calls("views.publish")
	if len(calls) != 5 || calls[0].Arg("user_id") != "U1" || calls[1].Arg("hash") != first.View.Hash || calls[0].JSON == nil {
		t.Errorf("%d views.publish calls recorded; first %s", len(calls), calls[0].JSON)
	}

	tooMany := homeView()
	for range MaxViewBlocks + 1 {
		tooMany.Blocks.BlockSet = append(tooMany.Blocks.BlockSet, section("row"))
	}
	for _, tc := range []struct {
		name string
		view slack.HomeTabViewRequest
		want string
	}{
		{"a modal", slack.HomeTabViewRequest{Type: slack.VTModal}, "invalid_arguments"},
		{"101 blocks", tooMany, "invalid_arguments"},
		{"over 250 kB", homeView(strings.Repeat("x", MaxViewBytes)), "view_too_large"},
	} {
		_, err := publish(ctx, api, "U1", tc.view, "")
		assertSlackError(t, err, tc.want)
	}
}

func TestViewsUpdate(t *testing.T) {
	s := newServer(t, Options{})
	api := newAPI(s, botToken)
	ctx := timeout(t, 5*time.Second)
	modal := func(title string) slack.ModalViewRequest {
		return slack.ModalViewRequest{Type: slack.VTModal, ExternalID: "form-1", Title: slack.NewTextBlockObject(slack.PlainTextType, title, false, false)}
	}
	opened, err := api.OpenViewContext(ctx, s.TriggerID(), modal("Transfer"))
	if err != nil {
		t.Fatal(err)
	}
	updated, err := api.UpdateViewContext(ctx, modal("Transferring…"), "", opened.View.Hash, opened.View.ID)
	if err != nil {
		t.Fatalf("update with the latest hash: %v", err)
	}
	if updated.View.ID != opened.View.ID || updated.View.Hash == opened.View.Hash || updated.View.Title.Text != "Transferring…" {
		t.Errorf("updated view = %+v", updated.View)
	}
	_, err = api.UpdateViewContext(ctx, modal("stale"), "", opened.View.Hash, opened.View.ID)
	assertSlackError(t, err, "hash_conflict")
	if _, err := api.UpdateViewContext(ctx, modal("by external id"), "form-1", "", ""); err != nil {
		t.Errorf("update by external id: %v", err)
	}
	_, err = api.UpdateViewContext(ctx, modal("x"), "", "", "V99999999")
	assertSlackError(t, err, "not_found")
	_, err = api.OpenViewContext(ctx, s.TriggerID(), modal("another with the same external id"))
	assertSlackError(t, err, "duplicate_external_id")

	// A Home tab updated by its view id is the user's tab.
	home, err := publish(ctx, api, "U1", homeView("first"), "")
	if err != nil {
		t.Fatal(err)
	}
	v := slack.ModalViewRequest{Type: slack.VTHomeTab, Blocks: slack.Blocks{BlockSet: []slack.Block{section("updated")}}}
	up, err := api.UpdateViewContext(ctx, v, "", home.View.Hash, home.View.ID)
	if err != nil {
		t.Fatal(err)
	}
	if h, _ := s.HomeView("U1"); h.Hash != up.View.Hash || !strings.Contains(string(h.View), "updated") {
		t.Errorf("Home tab after views.update = %+v", h)
	}
}

func TestChatUpdateChangesBlocks(t *testing.T) {
	s := newServer(t, Options{})
	api := newAPI(s, botToken)
	ctx := timeout(t, 5*time.Second)
	buttons := slack.NewActionBlock("controls", slack.NewButtonBlockElement("abort", "t-1", slack.NewTextBlockObject(slack.PlainTextType, "Abort", false, false)))
	_, ts, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("Transfer requested", false),
		slack.MsgOptionBlocks(section("Transfer requested"), buttons))
	if err != nil {
		t.Fatal(err)
	}
	m, ok := s.Message("C1", ts)
	if !ok || m.User != "UBOT" || m.Text != "Transfer requested" || !bytes.Contains(m.Blocks, []byte(`"action_id":"abort"`)) || m.Edits != 0 {
		t.Fatalf("posted message = %+v, %v; want the bot's, with the Abort button", m, ok)
	}

	// As the bot's slackapi sends it: JSON, with the token as a bearer.
	update := func(body string) {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.APIURL()+"chat.update", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
		req.Header.Set("Authorization", "Bearer "+botToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var ans struct {
			OK    bool   `json:"ok"`
			Error string `json:"error"`
		}
		err = json.NewDecoder(resp.Body).Decode(&ans)
		resp.Body.Close()
		if err != nil || !ans.OK {
			t.Fatalf("chat.update %s = %+v, %v", body, ans, err)
		}
	}
	update(`{"channel":"C1","ts":"` + ts + `","text":"✅ Transferred","blocks":[{"type":"section","text":{"type":"mrkdwn","text":"✅ Transferred"}}]}`)
	m, _ = s.Message("C1", ts)
	if m.Text != "✅ Transferred" || bytes.Contains(m.Blocks, []byte("abort")) || !bytes.Contains(m.Blocks, []byte("✅ Transferred")) || m.Edits != 1 {
		t.Errorf("after an update with new blocks: %+v; want the new blocks, no button", m)
	}
	update(`{"channel":"C1","ts":"` + ts + `","text":"plain","blocks":[]}`)
	if m, _ = s.Message("C1", ts); m.Text != "plain" || m.Blocks != nil {
		t.Errorf("after an update with no blocks: %+v; want them removed", m)
	}

	// Text without blocks removes the blocks too (Slack's chat.update).
	_, ts2, _ := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("x", false), slack.MsgOptionBlocks(buttons))
	if _, _, _, err := api.UpdateMessageContext(ctx, "C1", ts2, slack.MsgOptionText("text only", false)); err != nil {
		t.Fatal(err)
	}
	if m, _ = s.Message("C1", ts2); m.Text != "text only" || m.Blocks != nil {
		t.Errorf("after a text-only update: %+v; want the blocks removed", m)
	}
	if _, ok := s.Message("C1", "1.000001"); ok {
		t.Error("Message found a message never posted")
	}
}

func TestGetPermalink(t *testing.T) {
	s := newServer(t, Options{})
	api := newAPI(s, botToken)
	ctx := timeout(t, 5*time.Second)
	_, parent, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("Transfer requested", false))
	if err != nil {
		t.Fatal(err)
	}
	_, reply, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("done", false), slack.MsgOptionTS(parent))
	if err != nil {
		t.Fatal(err)
	}
	if m, ok := s.Message("C1", reply); !ok || m.ThreadTS != parent || m.Blocks != nil || m.Text != "done" {
		t.Errorf("the reply as the fake holds it: %+v, %v", m, ok)
	}
	link, err := api.GetPermalinkContext(ctx, &slack.PermalinkParameters{Channel: "C1", Ts: parent})
	if want := "https://fake.slack.com/archives/C1/p" + strings.Replace(parent, ".", "", 1); err != nil || link != want {
		t.Errorf("parent's permalink = %q, %v; want %q", link, err, want)
	}
	link, err = api.GetPermalinkContext(ctx, &slack.PermalinkParameters{Channel: "C1", Ts: reply})
	if want := "https://fake.slack.com/archives/C1/p" + strings.Replace(reply, ".", "", 1) + "?thread_ts=" + parent + "&cid=C1"; err != nil || link != want {
		t.Errorf("reply's permalink = %q, %v; want %q", link, err, want)
	}
	_, err = api.GetPermalinkContext(ctx, &slack.PermalinkParameters{Channel: "C1", Ts: "1.000001"})
	assertSlackError(t, err, "message_not_found")
	_, err = api.GetPermalinkContext(ctx, &slack.PermalinkParameters{Ts: parent})
	assertSlackError(t, err, "channel_not_found")

	c := s.Calls("chat.getPermalink")[0]
	if c.Arg("channel") != "C1" || c.Arg("message_ts") != parent || c.AnswerArg("permalink") == "" {
		t.Errorf("recorded call: %+v, answer %s", c.Form, c.Answer)
	}
}
