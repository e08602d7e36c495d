package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/slack-go/slack"
)

// press presses a button under the last ✅ thread reply that has it, as
// the current user: "abort" (a warm transfer's Abort transfer) or "again"
// (Transfer again, then the form, submitted when values are given).
func (s *session) press(ctx context.Context, args string) {
	which, rest, _ := strings.Cut(strings.TrimSpace(args), " ")
	actionID := map[string]string{"abort": "abort_transfer", "again": "transfer_again"}[strings.ToLower(which)]
	if actionID == "" {
		s.say("sandbox", "press takes abort or again, e.g. press abort (after /transfer warm …) or press again to=sales")
		return
	}
	values, err := parseFormValues(rest)
	if err != nil {
		s.say("sandbox", err.Error())
		return
	}
	ts, value, ok := s.lastButton(actionID)
	if !ok {
		s.say("sandbox", fmt.Sprintf("No ✅ reply in #%s has that button now: transfer a call first%s.", channelName,
			map[bool]string{true: " with /transfer warm …", false: ""}[actionID == "abort_transfer"]))
		return
	}
	ctx, cancel := context.WithTimeout(ctx, commandTimeout)
	defer cancel()
	r := &request{user: s.user, responseURL: s.w.slack.ResponseURL(), triggerID: s.w.slack.TriggerID(),
		audits: s.w.log.count(), start: time.Now()}
	s.last = r
	label := map[string]string{"abort_transfer": "Abort transfer", "transfer_again": "Transfer again"}[actionID]
	s.say("you", "press ["+label+"] under the thread reply")
	cb := slack.InteractionCallback{
		Type:        slack.InteractionTypeBlockActions,
		User:        slack.User{ID: s.user.id, Name: s.user.name},
		TriggerID:   r.triggerID,
		ResponseURL: r.responseURL,
		Container:   slack.Container{Type: "message", MessageTs: ts, ChannelID: channelID},
		ActionCallback: slack.ActionCallbacks{BlockActions: []*slack.BlockAction{
			{ActionID: actionID, BlockID: "controls", Value: value, Type: "button"},
		}},
	}
	cb.Channel.ID, cb.Channel.Name = channelID, channelName
	env, err := s.w.slack.SendInteraction(ctx, cb)
	if err == nil {
		_, err = s.w.slack.WaitAck(ctx, env.EnvelopeID)
	}
	if err != nil {
		s.gaveUp(fmt.Errorf("press the button: %w", err))
		return
	}
	if actionID == "abort_transfer" {
		// Done once its audit line is written; the edits go side by side.
		if _, err := s.w.log.waitAudit(ctx, r.audits); err != nil {
			s.gaveUp(fmt.Errorf("wait for the press's audit line: %w", err))
			return
		}
		s.printRecords()
		return
	}
	view, err := s.waitForm(ctx, r)
	s.formOpened(ctx, r, view, err, values, "press again to=… role=…")
}

// lastButton finds the newest thread reply in #floor that shows the button
// actionID now (a spent Abort button is gone), and returns its ts and the
// button's value.
func (s *session) lastButton(actionID string) (ts, value string, ok bool) {
	calls := s.w.slack.Calls("chat.postMessage")
	for _, c := range slices.Backward(calls) {
		if c.Arg("channel") != channelID || c.Arg("thread_ts") == "" || c.AnswerArg("ok") != "true" {
			continue
		}
		m, found := s.w.slack.Message(channelID, c.AnswerArg("ts"))
		if !found {
			continue
		}
		var blocks []struct {
			Elements []struct {
				ActionID string `json:"action_id"`
				Value    string `json:"value"`
			} `json:"elements"`
		}
		if json.Unmarshal(m.Blocks, &blocks) != nil {
			continue
		}
		for _, b := range blocks {
			for _, e := range b.Elements {
				if e.ActionID == actionID {
					return m.TS, e.Value, true
				}
			}
		}
	}
	return "", "", false
}
