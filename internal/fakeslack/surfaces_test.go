package fakeslack

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"
)

// homeOpened reads the next events_api event from the client and returns
// the app_home_opened inside it, acking the envelope.
func homeOpened(t *testing.T, ctx context.Context, s *Server, b *bot, env Envelope) *slackevents.AppHomeOpenedEvent {
	t.Helper()
	evt := b.next(ctx, socketmode.EventTypeEventsAPI)
	if evt.Request.EnvelopeID != env.EnvelopeID || evt.Request.Type != "events_api" || evt.Request.AcceptsResponsePayload {
		t.Errorf("request = %+v, want envelope %s of type events_api accepting no payload", evt.Request, env.EnvelopeID)
	}
	outer, ok := evt.Data.(slackevents.EventsAPIEvent)
	if !ok {
		t.Fatalf("event data %T, want slackevents.EventsAPIEvent", evt.Data)
	}
	if outer.Type != slackevents.CallbackEvent || outer.TeamID != "T1" || outer.APIAppID != "A1" {
		t.Errorf("outer event = %+v, want an event_callback of T1, A1", outer)
	}
	cb, ok := outer.Data.(*slackevents.EventsAPICallbackEvent)
	if !ok || !strings.HasPrefix(cb.EventID, "Ev") || cb.EventTime == 0 || len(cb.Authorizations) != 1 || cb.Authorizations[0].UserID != "UBOT" {
		t.Errorf("callback = %+v, want an event id, a time and the bot's authorization", outer.Data)
	}
	if outer.InnerEvent.Type != string(slackevents.AppHomeOpened) {
		t.Fatalf("inner event type %q, want app_home_opened", outer.InnerEvent.Type)
	}
	home, ok := outer.InnerEvent.Data.(*slackevents.AppHomeOpenedEvent)
	if !ok {
		t.Fatalf("inner event data %T, want *slackevents.AppHomeOpenedEvent", outer.InnerEvent.Data)
	}
	if err := b.client.Ack(*evt.Request); err != nil {
		t.Fatal(err)
	}
	if _, err := s.WaitAck(ctx, env.EnvelopeID); err != nil {
		t.Fatal(err)
	}
	return home
}

func TestAppHomeOpened(t *testing.T) {
	s, b := connected(t, Options{})
	ctx := timeout(t, 5*time.Second)

	env, err := s.SendAppHomeOpened(ctx, "U1")
	if err != nil {
		t.Fatal(err)
	}
	home := homeOpened(t, ctx, s, b, env)
	if home.User != "U1" || home.Channel != "D1" || home.Tab != "home" || home.EventTimeStamp == "" || home.View != nil {
		t.Errorf("first opening = %+v, want U1's home tab in D1, with no view yet", home)
	}

	published := slack.HomeTabViewRequest{Type: slack.VTHomeTab, CallbackID: "home", Blocks: slack.Blocks{BlockSet: []slack.Block{
		slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "*Your last transfers*", false, false), nil, nil),
		slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "none yet", false, false), nil, nil),
	}}}
	resp, err := newAPI(s, botToken).PublishViewContext(ctx, slack.PublishViewContextRequest{UserID: "U1", View: published})
	if err != nil {
		t.Fatal(err)
	}
	env, err = s.SendAppHomeOpened(ctx, "U1")
	if err != nil {
		t.Fatal(err)
	}
	home = homeOpened(t, ctx, s, b, env)
	if home.View == nil || home.View.ID != resp.View.ID || home.View.Hash != resp.View.Hash || home.View.Type != slack.VTHomeTab ||
		len(home.View.Blocks.BlockSet) != 2 || home.View.CallbackID != "home" {
		t.Errorf("opening after a publish: view %+v; want the published view %s with hash %s", home.View, resp.View.ID, resp.View.Hash)
	}

	env, err = s.SendAppHomeOpenedTab(ctx, "U1", "messages")
	if err != nil {
		t.Fatal(err)
	}
	if home := homeOpened(t, ctx, s, b, env); home.Tab != "messages" || home.View != nil {
		t.Errorf("messages tab = %+v, want no view", home)
	}

	if _, err := s.SendEvent(ctx, map[string]string{"user": "U1"}); err == nil {
		t.Error("SendEvent took an event without a type")
	}
}

func TestMessageAction(t *testing.T) {
	s, b := connected(t, Options{})
	ctx := timeout(t, 5*time.Second)
	api := newAPI(s, botToken)

	env, err := s.SendMessageAction(ctx, slack.InteractionCallback{
		CallbackID: "transfer_from_message",
		User:       slack.User{ID: "U1", Name: "sam"},
		Channel:    slack.Channel{GroupConversation: slack.GroupConversation{Conversation: slack.Conversation{ID: "C1"}}},
		Message:    slack.Message{Msg: slack.Msg{User: "UAGENT", Text: "caller on +14152223333 wants billing"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	evt := b.next(ctx, socketmode.EventTypeInteractive)
	cb := evt.Data.(slack.InteractionCallback)
	if cb.Type != slack.InteractionTypeMessageAction || cb.CallbackID != "transfer_from_message" || cb.User.ID != "U1" ||
		cb.Channel.ID != "C1" || cb.Message.User != "UAGENT" || cb.Message.Text != "caller on +14152223333 wants billing" {
		t.Errorf("interaction = %+v", cb)
	}
	if cb.Message.Timestamp == "" || cb.MessageTs != cb.Message.Timestamp || cb.ActionTs == "" || cb.TriggerID == "" ||
		!strings.HasPrefix(cb.ResponseURL, strings.TrimSuffix(s.APIURL(), "api/")+"response/") {
		t.Errorf("filled fields: ts %q, message_ts %q, action_ts %q, trigger %q, response_url %q",
			cb.Message.Timestamp, cb.MessageTs, cb.ActionTs, cb.TriggerID, cb.ResponseURL)
	}
	if evt.Request.AcceptsResponsePayload || evt.Request.EnvelopeID != env.EnvelopeID {
		t.Errorf("request = %+v", evt.Request)
	}
	if err := b.client.Ack(*evt.Request); err != nil {
		t.Fatal(err)
	}

	modal := slack.ModalViewRequest{Type: slack.VTModal, Title: slack.NewTextBlockObject(slack.PlainTextType, "Transfer", false, false)}
	if _, err := api.OpenViewContext(ctx, cb.TriggerID, modal); err != nil {
		t.Errorf("views.open with the shortcut's trigger: %v", err)
	}
	_, err = api.OpenViewContext(ctx, cb.TriggerID, modal)
	assertSlackError(t, err, "exchanged_trigger_id")

	// The message is the agent's: Slack links to it, the bot cannot edit it.
	link, err := api.GetPermalinkContext(ctx, &slack.PermalinkParameters{Channel: "C1", Ts: cb.Message.Timestamp})
	if want := Permalink("C1", cb.Message.Timestamp, ""); err != nil || link != want {
		t.Errorf("permalink = %q, %v; want %q", link, err, want)
	}
	_, _, _, err = api.UpdateMessageContext(ctx, "C1", cb.Message.Timestamp, slack.MsgOptionText("x", false))
	assertSlackError(t, err, "cant_update_message")
	if m, ok := s.Message("C1", cb.Message.Timestamp); !ok || m.User != "UAGENT" || m.Text != cb.Message.Text {
		t.Errorf("Message = %+v, %v", m, ok)
	}

	if _, err := s.SendMessageAction(ctx, slack.InteractionCallback{CallbackID: "x", User: slack.User{ID: "U1"}}); err == nil {
		t.Error("a message shortcut without a channel was sent")
	}
}

func TestBlockActionsAreFilled(t *testing.T) {
	s, b := connected(t, Options{})
	ctx := timeout(t, 5*time.Second)
	api := newAPI(s, botToken)
	_, ts, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("Transfer requested", false))
	if err != nil {
		t.Fatal(err)
	}

	press := &slack.BlockAction{ActionID: "abort", BlockID: "controls", Value: "t-1"}
	_, err = s.SendInteraction(ctx, slack.InteractionCallback{
		Type:           slack.InteractionTypeBlockActions,
		User:           slack.User{ID: "U1"},
		Channel:        slack.Channel{GroupConversation: slack.GroupConversation{Conversation: slack.Conversation{ID: "C1"}}},
		Message:        slack.Message{Msg: slack.Msg{Timestamp: ts, Text: "Transfer requested"}},
		ActionCallback: slack.ActionCallbacks{BlockActions: []*slack.BlockAction{press}},
	})
	if err != nil {
		t.Fatal(err)
	}
	cb := b.next(ctx, socketmode.EventTypeInteractive).Data.(slack.InteractionCallback)
	if cb.Container.Type != "message" || cb.Container.MessageTs != ts || cb.Container.ChannelID != "C1" ||
		cb.ResponseURL == "" || cb.TriggerID == "" {
		t.Errorf("button in a message: container %+v, response_url %q, trigger %q", cb.Container, cb.ResponseURL, cb.TriggerID)
	}
	if len(cb.ActionCallback.BlockActions) != 1 {
		t.Fatalf("actions = %+v", cb.ActionCallback.BlockActions)
	}
	if a := cb.ActionCallback.BlockActions[0]; a.ActionID != "abort" || a.BlockID != "controls" || a.Value != "t-1" || a.ActionTs == "" {
		t.Errorf("action = %+v", a)
	}
	if press.ActionTs != "" {
		t.Error("SendInteraction changed the caller's action")
	}
	if _, err := api.OpenViewContext(ctx, cb.TriggerID, slack.ModalViewRequest{Type: slack.VTModal}); err != nil {
		t.Errorf("views.open with the press's trigger: %v", err)
	}

	// A button on the Home tab: a view container, no response URL.
	_, err = s.SendInteraction(ctx, slack.InteractionCallback{
		Type:           slack.InteractionTypeBlockActions,
		User:           slack.User{ID: "U1"},
		View:           slack.View{ID: "V1", Type: slack.VTHomeTab},
		ActionCallback: slack.ActionCallbacks{BlockActions: []*slack.BlockAction{{ActionID: "new_transfer"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	cb = b.next(ctx, socketmode.EventTypeInteractive).Data.(slack.InteractionCallback)
	if cb.Container.Type != "view" || cb.Container.ViewID != "V1" || cb.ResponseURL != "" || cb.TriggerID == "" {
		t.Errorf("button on the Home tab: container %+v, response_url %q, trigger %q", cb.Container, cb.ResponseURL, cb.TriggerID)
	}
}

func assertSlackError(t testing.TB, err error, want string) {
	t.Helper()
	var se slack.SlackErrorResponse
	if !errors.As(err, &se) || se.Err != want {
		t.Errorf("error = %v (%T), want SlackErrorResponse %q", err, err, want)
	}
}
