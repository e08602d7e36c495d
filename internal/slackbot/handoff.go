package slackbot

import (
	"github.com/slack-go/slack/socketmode"
	"go.uber.org/zap"
)

// ackThenRun acks req and runs work, in its own goroutine, once the ack is
// queued; work holds a request slot (tryStart, for channel), which it gives
// back when it is done.
//
// The goroutine is started before the ack, and waits for it. Go runs a
// goroutine that was just started or just woken next, before the others
// waiting, and a later one takes that place from an earlier one: started
// after the ack, the work would take the place of Socket Mode's writer,
// which the ack has just woken, and the ack would go out only after the
// work's first steps (authorisation, the announcement's encoding and HTTP
// request) and whatever else was waiting, up to a millisecond and more
// under load. Started first, the work is the one pushed back, and the ack
// is written as soon as the event loop waits for the next envelope.
func (b *Bot) ackThenRun(req *socketmode.Request, j *request, channel string, work func()) {
	acked := make(chan struct{})
	go func() {
		defer b.finish(channel)
		defer func() {
			// run recovers its own panics, with its audit entry; this is
			// for the rest (the form, the list, a busy answer).
			if r := recover(); r != nil {
				b.panicked(j, r, []zap.Field{zap.String("requester", j.userID), zap.String("channel", j.channelID), zap.String("path", string(j.path))})
				b.tell(j, panicText(false))
			}
		}()
		<-acked // the ack comes first
		work()
	}()
	b.ack(req, nil)
	close(acked)
}
