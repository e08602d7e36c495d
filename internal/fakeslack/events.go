package fakeslack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/slack-go/slack"
)

// SendEvent sends event as Slack delivers an Events API event over Socket
// Mode: an "events_api" envelope (accepts_response_payload false) whose
// payload is the "event_callback" wrapper (team_id T1, api_app_id A1, a
// fresh event_id, event_time, the bot's authorization) around event.
// event is the inner event: anything that encodes to a JSON object with a
// "type" (a slackevents struct, a map, a json.RawMessage). slack-go reads
// the payload with slackevents.ParseEvent. It returns the envelope even
// when sending failed.
func (s *Server) SendEvent(ctx context.Context, event any) (Envelope, error) {
	inner, err := json.Marshal(event)
	if err != nil {
		return Envelope{}, fmt.Errorf("encode event: %w", err)
	}
	var head struct {
		Type string `json:"type"`
	}
	if json.Unmarshal(inner, &head) != nil || head.Type == "" {
		return Envelope{}, errors.New("encode event: an event is a JSON object with a type")
	}
	n := s.seqEvent.Add(1)
	payload, err := json.Marshal(map[string]any{
		"token":      "fake-verification-token",
		"team_id":    "T1",
		"api_app_id": "A1",
		"event":      json.RawMessage(inner),
		"type":       "event_callback",
		"event_id":   fmt.Sprintf("Ev%010d", n),
		"event_time": time.Now().Unix(),
		"authorizations": []map[string]any{{"enterprise_id": nil, "team_id": "T1", "user_id": s.opts.BotUserID,
			"is_bot": true, "is_enterprise_install": false}},
		"is_ext_shared_channel": false,
		"event_context":         fmt.Sprintf("4-fake%d", n),
	})
	if err != nil {
		return Envelope{}, fmt.Errorf("encode event: %w", err)
	}
	env := Envelope{EnvelopeID: s.newEnvelopeID(), Type: "events_api", Payload: payload}
	return env, s.Send(ctx, env)
}

// SendAppHomeOpened sends the app_home_opened event Slack sends when
// userID opens the app's Home tab: with the Home tab's current view (and
// its hash) once one was published for them.
func (s *Server) SendAppHomeOpened(ctx context.Context, userID string) (Envelope, error) {
	return s.SendAppHomeOpenedTab(ctx, userID, "home")
}

// SendAppHomeOpenedTab is SendAppHomeOpened for the tab "home" or
// "messages" (the latter carries no view).
func (s *Server) SendAppHomeOpenedTab(ctx context.Context, userID, tab string) (Envelope, error) {
	event := map[string]any{
		"type":     "app_home_opened",
		"user":     userID,
		"channel":  DMChannel(userID),
		"tab":      tab,
		"event_ts": s.NewTS(),
	}
	if h, ok := s.HomeView(userID); ok && tab == "home" {
		event["view"] = h.View
	}
	return s.SendEvent(ctx, event)
}

// DMChannel is the id of the app's direct-message channel with userID on
// the fake: D and the user id's characters after its first.
func DMChannel(userID string) string {
	if len(userID) < 2 {
		return "D0"
	}
	return "D" + userID[1:]
}

// SendMessageAction sends cb as the "interactive" envelope of a message
// shortcut: Type message_action, with cb.CallbackID, cb.User, cb.Channel
// (required) and cb.Message, the message the shortcut was used on (author
// in Message.User, its text). Empty fields are filled: Message.Timestamp
// (a new message of Message.User, as AddUserMessage), Message.Type,
// MessageTs, ActionTs, ResponseURL (a fresh ResponseURL()), and those
// SendInteraction fills (a trigger id views.open accepts once). The
// message becomes known to the fake (chat.getPermalink finds it; the bot
// cannot update it) unless it was already. It returns the envelope even
// when sending failed.
func (s *Server) SendMessageAction(ctx context.Context, cb slack.InteractionCallback) (Envelope, error) {
	if cb.Channel.ID == "" {
		return Envelope{}, errors.New("send message shortcut: a message shortcut comes from a channel: set cb.Channel.ID")
	}
	cb.Type = slack.InteractionTypeMessageAction
	if cb.Message.Timestamp == "" {
		cb.Message.Timestamp = s.AddUserMessage(cb.Channel.ID, cb.Message.User, cb.Message.Text)
	} else {
		s.PutUserMessage(cb.Channel.ID, cb.Message.Timestamp, cb.Message.User, cb.Message.Text, cb.Message.ThreadTimestamp)
	}
	if cb.Message.Type == "" {
		cb.Message.Type = "message"
	}
	if cb.MessageTs == "" {
		cb.MessageTs = cb.Message.Timestamp
	}
	if cb.ActionTs == "" {
		cb.ActionTs = s.NewTS()
	}
	if cb.ResponseURL == "" {
		cb.ResponseURL = s.ResponseURL()
	}
	return s.SendInteraction(ctx, cb)
}

// fillBlockActions completes a block_actions interaction as Slack sends
// it: the container (a message, or a view such as the Home tab) and, for a
// message, its ts both in Message and Container, the channel and a
// response_url; each action's action_ts.
func (s *Server) fillBlockActions(cb *slack.InteractionCallback) {
	c := &cb.Container
	if c.Type == "" {
		switch {
		case cb.Message.Timestamp != "" || c.MessageTs != "":
			c.Type = "message"
		case cb.View.ID != "":
			c.Type = "view"
		}
	}
	switch c.Type {
	case "message":
		if c.MessageTs == "" {
			c.MessageTs = cb.Message.Timestamp
		}
		if cb.Message.Timestamp == "" {
			cb.Message.Timestamp = c.MessageTs
		}
		if cb.Message.Type == "" {
			cb.Message.Type = "message"
		}
		if c.ChannelID == "" {
			c.ChannelID = cb.Channel.ID
		}
		if cb.Channel.ID == "" {
			cb.Channel.ID = c.ChannelID
		}
		if cb.ResponseURL == "" {
			cb.ResponseURL = s.ResponseURL()
		}
	case "view":
		if c.ViewID == "" {
			c.ViewID = cb.View.ID
		}
	}
	// Copies: the caller's actions are left as they were.
	actions := make([]*slack.BlockAction, len(cb.ActionCallback.BlockActions))
	for i, a := range cb.ActionCallback.BlockActions {
		if a != nil {
			cp := *a
			if cp.ActionTs == "" {
				cp.ActionTs = s.NewTS()
			}
			a = &cp
		}
		actions[i] = a
	}
	cb.ActionCallback.BlockActions = actions
}
