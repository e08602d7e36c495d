package slackbot

import (
	"github.com/slack-go/slack/socketmode"
	"go.uber.org/zap"

	"github.com/coldtransfer/coldtransfer/internal/wording"
)

// ackThenRun acks req, then runs work in its own goroutine; work holds a
// request slot (tryStart, for channel), which it gives back when it is
// done. The ack comes first: nothing of the request waits on the network
// before Slack has it. (An earlier version started the goroutine before
// the ack so that the scheduler would write the ack sooner on a loaded
// loopback; on a network with real round trips it changed nothing, and it
// is gone.)
func (b *Bot) ackThenRun(req *socketmode.Request, j *request, channel string, work func()) {
	b.ack(req, nil)
	go func() {
		defer b.finish(channel)
		defer func() {
			// run recovers its own panics, with its audit line; this is
			// for the rest (the form, the list, a press).
			if r := recover(); r != nil {
				b.panicked(j, r, []zap.Field{zap.String("requester", j.userID), zap.String("channel", j.channelID), zap.String("path", string(j.path))})
				b.tell(j, wording.Panic(false))
			}
		}()
		work()
	}()
}
