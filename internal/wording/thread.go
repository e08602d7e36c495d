package wording

import (
	"errors"
	"fmt"
	"strings"

	"github.com/slack-go/slack"

	"github.com/coldtransfer/coldtransfer/internal/intake"
	"github.com/coldtransfer/coldtransfer/internal/outcome"
	"github.com/coldtransfer/coldtransfer/internal/plivo"
	"github.com/coldtransfer/coldtransfer/internal/slackapi"
	"github.com/coldtransfer/coldtransfer/internal/store"
)

// A transfer's thread: the announcement that opens it, with a status line
// updated once the result is known, and the reply under it.

// The announcement's status line while Plivo is being asked.
const (
	StatusPending = ":hourglass_flowing_sand: Asking Plivo…"
	StatusDryRun  = ":test_tube: Dry run: Plivo is not called."
)

// Transfer is what an announcement shows of a request: who asked, how, for
// what, and the message it answers.
type Transfer struct {
	Requester string
	Path      outcome.Path
	Spec      intake.Spec
	Permalink string // the message a shortcut was used on; "" for none
}

// StatusLine is the last block of a transfer's announcement, the channel
// message that opens its thread: its status, updated when the result is
// known.
func StatusLine(status string) slack.Block { return slack.NewContextBlock("", Mrkdwn(status)) }

// AnnouncementHead is an announcement's text and its blocks but the
// status line (StatusLine): what stays as it is when the status changes.
func AnnouncementHead(tr Transfer) (string, []slack.Block) {
	via := "the /transfer command"
	if tr.Path == outcome.Modal {
		via = "the transfer form"
	}
	if link := answerLink(tr.Permalink); link != "" {
		via += ", " + link
	}
	t := tr.Spec
	// From the directory: the agent by mention, the destination by label,
	// each with the endpoint sent to Plivo.
	agent, agentText := Code(t.TriggerSource.String()), Esc(t.TriggerSource.String())
	if t.Agent != "" {
		agent = fmt.Sprintf("<@%s> · %s", t.Agent, agent)
		agentText = fmt.Sprintf("<@%s> (%s)", t.Agent, agentText)
	}
	dest, destText := Code(t.To.String()), Esc(t.To.String())
	if t.Destination != "" {
		dest = fmt.Sprintf("%s · %s", Esc(t.Label), dest)
		destText = fmt.Sprintf("%s (%s)", Esc(t.Label), destText)
	}
	kind := Capitalize(Kind(t.PlivoAction()))
	text := fmt.Sprintf("%s requested by <@%s>: agent %s hands the call to %s (joins as %s).",
		kind, tr.Requester, agentText, destText, t.Role)
	blocks := make([]slack.Block, 1, 2) // room for the status line
	blocks[0] = slack.NewSectionBlock(Mrkdwn(fmt.Sprintf(":twisted_rightwards_arrows: *%s* requested by <@%s> with %s", kind, tr.Requester, via)), []*slack.TextBlockObject{
		Mrkdwn("*Agent on the call*\n" + agent),
		Mrkdwn("*Transfer to*\n" + dest),
		Mrkdwn("*Joins as*\n" + string(t.Role)),
	}, nil)
	return text, blocks
}

// answerLink is the announcement's link to the message a shortcut was used
// on, "" without one. The link comes from chat.getPermalink through the
// form's private_metadata: only an https URL that cannot break out of the
// link is used.
func answerLink(permalink string) string {
	if !strings.HasPrefix(permalink, "https://") || strings.ContainsAny(permalink, "<>| \t\n") {
		return ""
	}
	return "<" + LinkURL(permalink) + "|in answer to this message>"
}

// Result is how a request to Plivo ended, as the channel is told it.
type Result struct {
	Action outcome.Action
	Plivo  plivo.Result
	Err    error
	DryRun string        // the request that would have been sent, for a dry run
	LostTo *store.Holder // the request that took the call's lapsed claim: Plivo was not asked
}

// Outcome classifies r as the audit line names it; the reply and the
// status line follow from it.
func (r Result) Outcome() outcome.Outcome {
	switch {
	case r.DryRun != "":
		return outcome.DryRun
	case r.LostTo != nil:
		return outcome.CallClaimed
	case r.Err == nil:
		return outcome.Transferred
	case mayHaveReachedPlivo(r.Err):
		return outcome.Unknown
	default:
		return outcome.Failed
	}
}

// Reply is the thread reply under the announcement.
func (r Result) Reply() string {
	switch r.Outcome() {
	case outcome.DryRun:
		return ":test_tube: Dry run: Plivo was not called. It would have been sent " + Code(r.DryRun) + "."
	case outcome.Transferred:
		accepted := ":white_check_mark: Plivo accepted the " + Kind(r.Action)
		if r.Action == outcome.WarmTransfer {
			// What Plivo's answer says: the request was taken, not that
			// anyone is connected.
			accepted += ": the agent and the destination now talk privately while the caller waits on hold"
		}
		if r.Plivo.APIID == "" {
			return accepted + ", but gave no api_id for it."
		}
		return accepted + ". api_id: " + Code(r.Plivo.APIID)
	case outcome.Unknown:
		return ":warning: Transfer outcome unknown. " + Esc(errorSentence(r.Err))
	case outcome.CallClaimed:
		return lostClaimText(*r.LostTo)
	default:
		return ":x: Not transferred. " + Esc(errorSentence(r.Err))
	}
}

// Status is the announcement's last line once the outcome is known.
func (r Result) Status() string {
	switch r.Outcome() {
	case outcome.DryRun:
		return ":test_tube: Dry run: nothing was sent to Plivo."
	case outcome.Transferred:
		if r.Plivo.APIID == "" {
			return ":white_check_mark: Transferred · Plivo gave no api_id"
		}
		return ":white_check_mark: Transferred · api_id " + Code(r.Plivo.APIID)
	case outcome.Unknown:
		return ":warning: Outcome unknown: check the call · see thread"
	default:
		return ":x: Not transferred · see thread"
	}
}

func mayHaveReachedPlivo(err error) bool {
	pe, ok := errors.AsType[*plivo.Error](err)
	return !ok || pe.MayHaveReachedPlivo()
}

// errorSentence is what a supervisor reads about a failed transfer. A
// *plivo.Error renders itself; anything else is not shown raw.
func errorSentence(err error) string {
	if pe, ok := errors.AsType[*plivo.Error](err); ok {
		return pe.Error()
	}
	return "Something unexpected went wrong (see the bot's log): the call may or may not have been transferred; check it before trying again."
}

// ReplyLost tells the requester the reply r that could not be posted in
// the thread (err says why).
func ReplyLost(r Result, err error) string {
	if _, ok := errors.AsType[*slackapi.MaybeSentError](err); ok {
		return "Slack did not confirm that it posted the result in the channel thread. " + r.Reply()
	}
	return "I could not post the result in the channel thread. " + r.Reply()
}

// lostClaimText is the thread reply when the call's claim lapsed before
// Plivo was asked and another request took it: this one stands down.
func lostClaimText(h store.Holder) string {
	return fmt.Sprintf(":x: Not transferred: while this request waited on Slack, <@%s> started transferring the same call (see <#%s>). Plivo was not asked.", h.User, h.Channel)
}

// AbortReply is the thread reply to an Abort press by presser.
func AbortReply(r Result, presser string) string {
	by := fmt.Sprintf(" (asked by <@%s>)", presser)
	switch r.Outcome() {
	case outcome.DryRun:
		return ":test_tube: Dry run: Plivo was not called. It would have been sent " + Code(r.DryRun) + "." + by
	case outcome.Transferred:
		accepted := ":leftwards_arrow_with_hook: Plivo accepted the abort: the agent who started the warm transfer goes back to the caller" + by
		if r.Plivo.APIID == "" {
			return accepted + ". Plivo gave no api_id for it."
		}
		return accepted + ". api_id: " + Code(r.Plivo.APIID)
	case outcome.Unknown:
		return ":warning: Abort outcome unknown" + by + ". " + Esc(errorSentence(r.Err))
	default:
		return ":x: Not aborted" + by + ". " + Esc(errorSentence(r.Err))
	}
}

// AbortedStatus is the announcement's status line once Plivo accepted an
// abort.
func AbortedStatus(r Result) string {
	if r.Plivo.APIID == "" {
		return ":leftwards_arrow_with_hook: Transfer aborted"
	}
	return ":leftwards_arrow_with_hook: Transfer aborted · api_id " + Code(r.Plivo.APIID)
}

// AbortedReply replaces a ✅ reply once its transfer was aborted.
const AbortedReply = ":white_check_mark: Plivo accepted the warm transfer; it was then aborted (see below)."
