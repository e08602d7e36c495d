package slackapi

import (
	"context"
	"fmt"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

// Message is a channel message the bot posts (chat.postMessage) or
// replaces (chat.update).
type Message struct {
	Channel  string
	TS       string // chat.update: the message to replace
	ThreadTS string // chat.postMessage: reply in this thread
	Text     string // the text, also the fallback of the blocks
	Blocks   []slack.Block
}

// options are msg's text and blocks as slack-go sends them. The text is
// not escaped: the bot writes mentions (<@U…>) itself.
func (msg Message) options() []slack.MsgOption {
	opts := []slack.MsgOption{slack.MsgOptionText(msg.Text, false)}
	if len(msg.Blocks) > 0 {
		opts = append(opts, slack.MsgOptionBlocks(msg.Blocks...))
	}
	return opts
}

// PostMessage posts msg with chat.postMessage and returns its ts. prio
// orders it among the channel's messages while Slack limits the channel
// (lanes.go). A message that may have reached Slack is never sent again:
// its error is then a *MaybeSentError.
func (a *API) PostMessage(ctx context.Context, prio Priority, msg Message) (string, error) {
	opts := msg.options()
	if msg.ThreadTS != "" {
		opts = append(opts, slack.MsgOptionTS(msg.ThreadTS))
	}
	_, ts, err := a.client.PostMessageContext(inLane(ctx, msg.Channel, prio), msg.Channel, opts...)
	return ts, err
}

// UpdateMessage replaces the message msg.TS with chat.update, as a mark:
// the least urgent of a channel's messages. Blocks left out are removed.
func (a *API) UpdateMessage(ctx context.Context, msg Message) error {
	_, _, _, err := a.client.UpdateMessageContext(inLane(ctx, msg.Channel, PriorityMark), msg.Channel, msg.TS, msg.options()...)
	return err
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

// PublishHome publishes view as userID's Home tab (views.publish).
func (a *API) PublishHome(ctx context.Context, userID string, view slack.HomeTabViewRequest) error {
	if _, err := a.client.PublishViewContext(ctx, slack.PublishViewContextRequest{UserID: userID, View: view}); err != nil {
		return fmt.Errorf("views.publish: %w", err)
	}
	return nil
}

// Permalink returns the link to the message ts of channel
// (chat.getPermalink).
func (a *API) Permalink(ctx context.Context, channel, ts string) (string, error) {
	link, err := a.client.GetPermalinkContext(ctx, &slack.PermalinkParameters{Channel: channel, Ts: ts})
	if err != nil {
		return "", fmt.Errorf("chat.getPermalink: %w", err)
	}
	return link, nil
}
