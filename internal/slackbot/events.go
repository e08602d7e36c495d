package slackbot

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
	"go.uber.org/zap"

	"github.com/coldtransfer/coldtransfer/internal/authz"
	"github.com/coldtransfer/coldtransfer/internal/directory"
	"github.com/coldtransfer/coldtransfer/internal/home"
	"github.com/coldtransfer/coldtransfer/internal/intake"
	"github.com/coldtransfer/coldtransfer/internal/outcome"
	"github.com/coldtransfer/coldtransfer/internal/slackapi"
	"github.com/coldtransfer/coldtransfer/internal/wording"
)

// The event loop's side of a request: route each envelope, ack it at
// once, and start its work in a goroutine of its own within the bounds.

// ephemeral is a slash command ack's payload: a message only the requester
// sees, answered with no Web API call at all.
type ephemeral struct {
	ResponseType string `json:"response_type"`
	Text         string `json:"text"`
}

func ephemeralAck(text string) ephemeral { return ephemeral{ResponseType: "ephemeral", Text: text} }

// onSlashCommand answers /transfer. Help and invalid input are answered in
// the ack itself; anything that runs is acked first and done in its own
// goroutine, which begins by checking, in the shared store, that the
// request is not a redelivery.
func (b *Bot) onSlashCommand(evt socketmode.Event) {
	cmd, _ := evt.Data.(slack.SlashCommand)
	now := time.Now()
	dir := b.cfg.Directory()
	parsed := intake.ParseCommand(cmd.Text, dir, cmd.UserID)

	j := &request{path: outcome.Command, userID: cmd.UserID, channelID: cmd.ChannelID, responseURL: cmd.ResponseURL,
		spec: parsed.Spec, received: now, dir: dir}
	switch parsed.Kind {
	case intake.KindHelp:
		b.ack(evt.Request, ephemeralAck(wording.Usage(dir)))
		return
	case intake.KindList:
		if text, ok := b.listNow(j); ok {
			b.ack(evt.Request, ephemeralAck(text))
			return
		}
	case intake.KindInvalid:
		b.ack(evt.Request, ephemeralAck(wording.Invalid(parsed.Problems, dir)))
		e := j.entry(outcome.Invalid)
		e.problem = strings.Join(parsed.Problems, " ")
		if ok, _ := b.tryStart(""); !ok {
			b.audit(e) // no room to check for a redelivery: a second line at worst
			return
		}
		go func() {
			defer b.finish("")
			if b.firstTime(evt.Request, "trigger", cmd.TriggerID) {
				b.audit(e)
			}
		}()
		return
	case intake.KindForm:
		j.path = outcome.Modal
	}

	posts := ""
	if parsed.Kind == intake.KindTransfer {
		posts = j.channelID
	}
	if ok, busy := b.tryStart(posts); !ok {
		// A list transfers nothing: no audit line.
		b.busy(evt.Request, j, "trigger", cmd.TriggerID, busy, parsed.Kind != intake.KindList)
		return
	}
	b.ackThenRun(evt.Request, j, posts, func() {
		if parsed.Kind == intake.KindForm {
			// The trigger id lives 3 s: the redelivery check must not delay
			// the form, so it runs beside it.
			b.openModal(j, cmd.TriggerID, func() bool { return b.firstTime(evt.Request, "trigger", cmd.TriggerID) })
			return
		}
		if !b.firstTime(evt.Request, "trigger", cmd.TriggerID) {
			return
		}
		if parsed.Kind == intake.KindList {
			b.list(j)
			return
		}
		b.run(j)
	})
}

// onInteraction answers form submissions. Invalid input is answered in the
// ack, under the fields; a valid submission closes the form and runs, unless
// the store knows the view (or the envelope) already: a second submission of
// the same form, through any replica, closes it and runs nothing.
func (b *Bot) onInteraction(evt socketmode.Event) {
	cb, _ := evt.Data.(slack.InteractionCallback)
	switch {
	case cb.Type == slack.InteractionTypeBlockSuggestion && cb.View.CallbackID == intake.CallbackID:
		b.onBlockSuggestion(evt, cb)
		return
	case cb.Type == slack.InteractionTypeBlockActions && home.NewTransferPress(cb) != nil:
		b.onHomeAction(evt, cb, home.NewTransferPress(cb))
		return
	case cb.Type == slack.InteractionTypeBlockActions:
		b.onBlockActions(evt, cb)
		return
	case cb.Type == slack.InteractionTypeMessageAction:
		b.onMessageAction(evt, cb)
		return
	}
	if cb.Type != slack.InteractionTypeViewSubmission || cb.View.CallbackID != intake.CallbackID {
		b.ack(evt.Request, nil)
		return
	}
	now := time.Now()
	dir := b.cfg.Directory()
	origin, t, fieldErrs := intake.ParseSubmission(cb.View, dir)
	if fieldErrs != nil {
		b.ack(evt.Request, slack.NewErrorsViewSubmissionResponse(fieldErrs))
		b.log.Debug("form input refused", zap.String("requester", cb.User.ID), zap.Any("errors", fieldErrs))
		return
	}
	j := &request{path: outcome.Modal, userID: cb.User.ID, channelID: origin.ChannelID, responseURL: origin.ResponseURL,
		spec: t, received: now, dir: dir, permalink: origin.Permalink}
	if ok, busy := b.tryStart(j.channelID); !ok {
		// The form stays open, so pressing Transfer again is the retry; a
		// twin submission that runs has closed it, and Slack drops this.
		b.ack(evt.Request, slack.NewErrorsViewSubmissionResponse(map[string]string{intake.BlockTo: busy}))
		b.audit(j.entry(outcome.Busy))
		return
	}
	b.ackThenRun(evt.Request, j, j.channelID, func() {
		if b.firstTime(evt.Request, "view", cb.View.ID) {
			b.run(j)
		}
	})
}

// formBudget is how long after its envelope a form waits for what it
// needs (a group lookup, the pickers' who lists) before it opens with what
// is known: Slack's trigger id expires 3 s after the command.
const formBudget = 1500 * time.Millisecond

// openModal authorises the requester, then opens the form, within
// formBudget of the command. A requester refused on what is known (ids,
// channel, groups already looked up) gets no form; one whose decision
// still waits on Slack gets the form, and the decision is made again on
// submission. first is the redelivery check, which runs beside: a
// redelivered command changes nothing (its trigger id is spent) and is
// told nothing.
func (b *Bot) openModal(j *request, triggerID string, first func() bool) {
	isFirst := make(chan bool, 1)
	go func() { isFirst <- first() }()

	ctx, cancel := context.WithDeadline(b.work, j.received.Add(formBudget))
	defer cancel()
	d := b.authorizer.Decide(ctx, j.userID, j.channelID)
	if !d.Allowed && (d.Denial != authz.DeniedLookup || ctx.Err() == nil) {
		if <-isFirst {
			e := j.entry(outcome.Refused)
			e.decision = &d
			b.audit(e)
			b.tell(j, wording.Refusal(d))
		}
		return
	}
	view, err := b.form(ctx, j)
	if errors.Is(err, intake.ErrNoDestinations) {
		if <-isFirst {
			b.tell(j, wording.NoDestinations)
		}
		return
	}
	if err == nil {
		octx, ocancel := b.slackCtx()
		err = b.api.OpenView(octx, triggerID, view)
		ocancel()
	}
	if !<-isFirst {
		return
	}
	if err != nil {
		b.log.Warn("form not opened", zap.String("requester", j.userID), zap.String("channel", j.channelID), zap.Error(err))
		b.tell(j, wording.ModalFailed(err))
		return
	}
	b.log.Debug("form opened", zap.String("requester", j.userID), zap.String("channel", j.channelID),
		zap.Bool("decided", d.Allowed))
}

// form returns the form for j's requester: without a directory plain
// inputs; with one, pickers of what this requester may use, by what the
// Authorizer can say before ctx ends (a group not confirmed in time hides
// its destinations: fail closed).
func (b *Bot) form(ctx context.Context, j *request) (slack.ModalViewRequest, error) {
	if j.awaitLink != nil {
		j.permalink = j.awaitLink()
	}
	origin := intake.Origin{ChannelID: j.channelID, ResponseURL: j.responseURL, Permalink: j.permalink}
	preset := j.preset
	if j.pickChannel {
		origin.ChannelID, preset.Channel = "", j.channelID
	}
	if j.dir == nil {
		return intake.Form(origin, preset, nil, nil, nil, false)
	}
	usable, idx := b.authorizer.UsableDestinations(ctx, j.userID, j.dir)
	mayType := b.authorizer.MayType(ctx, j.userID, j.dir.Typed()).Allowed
	return intake.Form(origin, preset, j.dir, usable, idx, mayType)
}

// optionsAck is the answer to a block_suggestion; Slack wants the options
// key even when there is none.
type optionsAck struct {
	Options []*slack.OptionBlockObject `json:"options"`
}

// onBlockSuggestion answers the destination picker's search, in the ack:
// the destinations this requester may use whose name or label contains the
// typed text. Which they may use comes from the form itself when it was
// made from the directory in force, else from what the Authorizer knows
// without asking Slack (an unconfirmed group hides its destinations).
func (b *Bot) onBlockSuggestion(evt socketmode.Event, cb slack.InteractionCallback) {
	opts := []*slack.OptionBlockObject{}
	if dir := b.cfg.Directory(); dir != nil && cb.ActionID == intake.BlockTo {
		var origin intake.Origin
		_ = json.Unmarshal([]byte(cb.View.PrivateMetadata), &origin)
		usable, ok := intake.UsableFromOrigin(dir, origin)
		if !ok {
			cached := b.authorizer.CacheOnly()
			usable = func(_ int, d directory.Destination) bool {
				return len(d.Who) == 0 || cached.MayUseDestination(context.Background(), cb.User.ID, d).Allowed
			}
		}
		opts = intake.Suggestions(dir, cb.Value, usable)
	}
	b.ack(evt.Request, optionsAck{Options: opts})
}

// handle routes one Socket Mode event. It runs on the event loop, so it
// must never wait on the network: requests are acked here and worked on in
// their own goroutines.
func (b *Bot) handle(evt socketmode.Event) error {
	b.envelopeAt = time.Now()
	switch evt.Type {
	case socketmode.EventTypeHello:
		b.setReady(true)
		b.log.Info("connected to Slack")
	case socketmode.EventTypeConnecting, socketmode.EventTypeInvalidAuth:
		b.setReady(false)
		b.log.Debug("connecting to Slack")
	case socketmode.EventTypeConnectionError:
		b.setReady(false)
		if ce, ok := evt.Data.(*slack.ConnectionErrorEvent); ok {
			// slack-go retries these forever; a refused token never heals.
			if rejected := slackapi.TokenRejected("SLACK_APP_TOKEN", ce.ErrorObj); rejected != nil {
				return rejected
			}
			fields := []zap.Field{zap.String("url", b.api.URL()+"apps.connections.open"), zap.Int("attempt", ce.Attempt),
				zap.Error(ce.ErrorObj), zap.String("retry_in", ce.Backoff.Round(time.Millisecond).String())}
			// The third failure in a row says what to check. slack-go counts
			// attempts afresh after each connection: once per outage.
			if ce.Attempt == 3 {
				b.log.Error("cannot connect to Slack: check that this host can reach the url and the WebSocket address "+
					"it answers with (wss://…slack.com: proxy, firewall, DNS), and that SLACK_API_URL is right", fields...)
			} else {
				b.log.Warn("cannot connect to Slack, retrying", fields...)
			}
		}
	case socketmode.EventTypeSlashCommand:
		b.onSlashCommand(evt)
	case socketmode.EventTypeInteractive:
		b.onInteraction(evt)
	case socketmode.EventTypeEventsAPI:
		b.ack(evt.Request, nil)
		b.onEvent(evt)
	case socketmode.EventTypeErrorWriteFailed:
		if wf, ok := evt.Data.(*socketmode.ErrorWriteFailed); ok {
			b.log.Warn("ack not written; Slack will redeliver", zap.String("envelope_id", wf.Response.EnvelopeID), zap.Error(wf.Cause))
		}
	case socketmode.EventTypeErrorBadMessage:
		b.onBadMessage(evt)
	case socketmode.EventTypeIncomingError:
		// The frame was not JSON; slack-go keeps only the decoding error,
		// so there is no envelope id to ack.
		if ie, ok := evt.Data.(*slack.IncomingEventError); ok {
			b.log.Warn("unreadable frame from Slack", zap.Error(ie.ErrorObj))
		}
	}
	return nil
}

// onBadMessage acks an envelope slack-go could not parse (an unknown type,
// a field of an unexpected type) when it carries an envelope id, so that
// Slack does not redeliver it and the user does not wait for a timeout. A
// slash command is told that nothing ran. The payload is not logged: it
// holds the request's response_url and Slack's verification token.
func (b *Bot) onBadMessage(evt socketmode.Event) {
	bm, ok := evt.Data.(*socketmode.ErrorBadMessage)
	if !ok {
		return
	}
	var env struct {
		EnvelopeID string `json:"envelope_id"`
		Type       string `json:"type"`
	}
	_ = json.Unmarshal(bm.Message, &env)
	log := b.log.With(zap.String("envelope_id", env.EnvelopeID), zap.String("type", env.Type), zap.Int("bytes", len(bm.Message)), zap.Error(bm.Cause))
	if env.EnvelopeID == "" {
		log.Warn("unreadable message from Slack, without an envelope id to ack")
		return
	}
	var payload any
	if env.Type == string(socketmode.RequestTypeSlashCommands) {
		payload = ephemeralAck(wording.Unreadable)
	}
	b.ack(&socketmode.Request{EnvelopeID: env.EnvelopeID}, payload)
	log.Warn("unreadable request from Slack acked; nothing ran")
}

// ackTimeout bounds an ack: acks queue for one writer, and while the
// connection is down they can wait.
const ackTimeout = time.Second

func (b *Bot) ack(req *socketmode.Request, payload any) {
	if req == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), ackTimeout)
	defer cancel()
	if err := b.sm.AckCtx(ctx, req.EnvelopeID, payload); err != nil {
		b.log.Warn("ack failed; Slack will redeliver", zap.String("envelope_id", req.EnvelopeID), zap.Error(err))
		return
	}
	b.metrics.Ack(time.Since(b.envelopeAt))
}

// heldChannelShare is how many requests of one channel may be in flight
// while Slack rate-limits that channel's messages: they wait their turn
// there at about one message a second, three messages a transfer. Past it,
// the channel's new transfers are answered busy, and the slots stay free
// for the floor's other channels.
const heldChannelShare = 8

// setReady records whether the Socket Mode connection is up, for /readyz
// and the coldtransfer_socket_connected gauge.
func (b *Bot) setReady(up bool) {
	b.ready.Store(up)
	b.metrics.SocketConnected(up)
}

// tryStart takes a slot for a new request, or says why none is free: the
// bot is full (wording.Busy), or the request would post in channel, which
// Slack is holding back and which has its share of slots already
// (wording.ChannelBusy). channel is "" for a request that posts in no channel.
func (b *Bot) tryStart(channel string) (ok bool, busy string) {
	if channel != "" && b.api.ChannelHeld(channel) {
		b.chMu.Lock()
		n := b.perChannel[channel]
		b.chMu.Unlock()
		if n >= heldChannelShare {
			return false, wording.ChannelBusy
		}
	}
	select {
	case b.slots <- struct{}{}:
	default:
		return false, wording.Busy
	}
	b.inflight.Add(1)
	b.metrics.InFlightInc()
	if channel != "" {
		b.chMu.Lock()
		b.perChannel[channel]++
		b.chMu.Unlock()
	}
	return true, ""
}

// finish gives back the slot of a request that is done; channel is the
// one tryStart was given.
func (b *Bot) finish(channel string) {
	if channel != "" {
		b.chMu.Lock()
		if b.perChannel[channel]--; b.perChannel[channel] <= 0 {
			delete(b.perChannel, channel)
		}
		b.chMu.Unlock()
	}
	b.metrics.InFlightDec()
	<-b.slots
	b.inflight.Done()
}

// busy answers a request the bot has no room for, once. The ack goes at
// once; then a redelivery check tells a twin of a request already running
// (the same command under a new envelope) from a new one, so that nobody
// is told "nothing was sent" about a request whose twin is transferring the
// call. The checks have their own bound; past it, the ack itself says busy.
func (b *Bot) busy(req *socketmode.Request, j *request, kind, id, text string, audited bool) {
	select {
	case b.overflow <- struct{}{}:
	default:
		b.ack(req, ephemeralAck(text))
		if audited {
			b.audit(j.entry(outcome.Busy))
		}
		return
	}
	b.inflight.Add(1)
	b.ack(req, nil)
	go func() {
		defer func() {
			<-b.overflow
			b.inflight.Done()
		}()
		if b.firstTime(req, kind, id) {
			b.tell(j, text)
			if audited {
				b.audit(j.entry(outcome.Busy))
			}
		}
	}()
}
