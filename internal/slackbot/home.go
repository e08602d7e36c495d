package slackbot

import (
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

// onEvent handles an Events API event, already acked: the Home tab.
func (b *Bot) onEvent(evt socketmode.Event) {}

// onMessageAction handles the "Transfer this caller" message shortcut.
func (b *Bot) onMessageAction(evt socketmode.Event, cb slack.InteractionCallback) {
	b.ack(evt.Request, nil)
}
