package slackbot

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/coldtransfer/coldtransfer/internal/authz"
	"github.com/coldtransfer/coldtransfer/internal/directory"
	"github.com/coldtransfer/coldtransfer/internal/outcome"
	"github.com/coldtransfer/coldtransfer/internal/plivo"
	"github.com/coldtransfer/coldtransfer/internal/slackapi"
	"github.com/coldtransfer/coldtransfer/internal/store"
)

// Everything a person reads comes from this file.

const usageText = "*Cold-transfer a live call*\n" +
	"• `/transfer` opens a form.\n" +
	"• `/transfer <to> from <agent on the call> [as agent|customer]` transfers at once, e.g.\n" +
	"    `/transfer +1 415 222 5555 from +1 415 222 3333`\n" +
	"    `/transfer sip:queue@pbx.example.com from +14152223333 as customer`\n" +
	"The agent on the call hands it to `<to>` and leaves. Phone numbers in international form " +
	"(+ and the country code); SIP addresses as `sip:user@host`. The role (default agent) is how `<to>` joins the call."

// noDestinationsText: the requester may neither pick nor type a
// destination, so no form opens.
const noDestinationsText = ":no_entry: There is no destination in the floor directory you may send calls to, and you may not type numbers, so there is no form to open. Ask the bot's operator."

// channelBusyText answers a transfer in a channel whose messages Slack is
// holding back, with that channel's share of the bot already waiting.
const channelBusyText = ":hourglass: Slack is holding back the bot's messages in this channel right now, and other transfers here are waiting their turn, so this one was not started: nothing was sent. Try again in a minute, or use another channel."

const busyText = ":hourglass: Too many transfers are in progress right now, so nothing was sent. Try again in a few seconds."

// mrkdwnEscaper escapes what Slack's mrkdwn treats as control characters.
var mrkdwnEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

func esc(s string) string { return mrkdwnEscaper.Replace(s) }

// code renders s as inline code; endpoints never contain a backtick.
func code(s string) string { return "`" + esc(s) + "`" }

// usage is the usage text, with examples from the floor directory dir
// when there is one.
func usage(dir *directory.Directory) string {
	if dir == nil {
		return usageText
	}
	var b strings.Builder
	b.WriteString(usageText)
	b.WriteString("\n*With the floor directory*\n")
	if dests := dir.Destinations(); len(dests) > 0 {
		ex := dests[0]
		for _, d := range dests {
			if len(d.Who) == 0 {
				ex = d
				break
			}
		}
		fmt.Fprintf(&b, "• `<to>` may be a destination's name, in any case: `/transfer %s from me` sends the call you are on to %s.\n", ex.Name, esc(ex.Label))
	}
	b.WriteString("• The agent on the call may be `me` (your own entry) or a mention: `from @alice`.\n")
	b.WriteString("• `/transfer list` shows the destinations you may use, and whether you may type numbers.")
	return b.String()
}

// mentionEscaped is a user mention after esc: problems may name a user,
// and the mention should still render.
var mentionEscaped = regexp.MustCompile(`&lt;@([UW][A-Z0-9]{2,30})&gt;`)

func invalidText(problems []string, dir *directory.Directory) string {
	var b strings.Builder
	for _, p := range problems {
		b.WriteString(":warning: ")
		b.WriteString(mentionEscaped.ReplaceAllString(esc(p), "<@$1>"))
		b.WriteString("\n")
	}
	b.WriteString("\n")
	b.WriteString(usage(dir))
	return b.String()
}

// unreadableText answers a slash command Slack sent in a form the bot could
// not read.
const unreadableText = ":warning: Slack sent this request in a form I could not read, so nothing was done. Try again; if it keeps happening, tell the bot's operator."

func refusalText(d authz.Decision) string {
	switch d.Denial {
	case authz.DeniedChannel:
		return ":no_entry: Calls can't be transferred from this channel. Use a channel the bot's operator allowed (TRANSFER_ALLOWED_CHANNELS)."
	case authz.DeniedLookup:
		return ":no_entry: Slack could not confirm your user-group membership just now, so nothing was transferred. Try again in a minute; if it keeps failing, tell the bot's operator."
	default:
		return ":no_entry: You are not allowed to transfer calls. Ask the bot's operator to add you to TRANSFER_ALLOWED_USERS or to an allowed user group."
	}
}

// announceFailedText tells the requester why nothing ran when the channel
// announcement could not be posted: no audit, no transfer.
func announceFailedText(err error, botUserID, channelID string) string {
	bot := "the bot"
	if botUserID != "" {
		bot = fmt.Sprintf("<@%s>", botUserID)
	}
	if _, ok := errors.AsType[*slackapi.MaybeSentError](err); ok {
		return ":warning: Slack did not confirm that it posted the announcement of this transfer, so nothing was transferred. " +
			"If that announcement shows up in the channel with :hourglass_flowing_sand: Asking Plivo…, it was not acted on: Plivo was never asked. Try again in a moment."
	}
	switch c := slackapi.ErrorCode(err); {
	case c == "channel_not_found" && strings.HasPrefix(channelID, "D"):
		// Slack lets no one invite an app into a direct message between
		// two people.
		return fmt.Sprintf(":warning: I can't post in a direct message between other people, and the channel is the transfer's audit trail, so nothing was transferred. Use /transfer in a channel %s is in, or in your direct message with %s.", bot, bot)
	case c == "channel_not_found":
		return fmt.Sprintf(":warning: I can't post in this conversation, and the channel is the transfer's audit trail, so nothing was transferred. Use /transfer in a channel %s is in (invite it to a private channel with `/invite`), or in your direct message with %s.", bot, bot)
	case c == "not_in_channel":
		invite := "invite the bot"
		if botUserID != "" {
			invite = fmt.Sprintf("invite <@%s> (type `/invite` here)", botUserID)
		}
		return fmt.Sprintf(":warning: I can't post in this channel, and the channel is the transfer's audit trail, so nothing was transferred. Please %s and try again.", invite)
	case c == "is_archived":
		return ":warning: This channel is archived, so nothing was transferred. Use an active channel."
	default:
		return fmt.Sprintf(":warning: I could not post the announcement in this channel (%s), so nothing was transferred. Try again in a moment.", esc(describeSlackError(err)))
	}
}

func modalFailedText(err error) string {
	return fmt.Sprintf(":warning: I could not open the transfer form (%s). Type `/transfer` again, or use `/transfer <to> from <agent on the call>`.", esc(describeSlackError(err)))
}

// describeSlackError says in a few words what went wrong talking to Slack,
// without a Go error dump.
func describeSlackError(err error) string {
	if c := slackapi.ErrorCode(err); c != "" {
		return "Slack said " + c
	}
	if sc, ok := errors.AsType[slack.StatusCodeError](err); ok {
		return fmt.Sprintf("Slack answered HTTP %d", sc.Code)
	}
	if _, ok := errors.AsType[*slack.RateLimitedError](err); ok {
		return "Slack is rate-limiting the bot"
	}
	return "Slack could not be reached"
}

// announcement is the channel message that opens a transfer's thread; status
// is its last line, updated when the result is known.
func announcement(j *request, status string) (string, []slack.Block) {
	via := "the /transfer command"
	if j.path == outcome.Modal {
		via = "the transfer form"
	}
	if link := answerLink(j.permalink); link != "" {
		via += ", " + link
	}
	t := j.spec
	// From the directory: the agent by mention, the destination by label,
	// each with the endpoint sent to Plivo.
	agent, agentText := code(t.TriggerSource.String()), esc(t.TriggerSource.String())
	if t.Agent != "" {
		agent = fmt.Sprintf("<@%s> · %s", t.Agent, agent)
		agentText = fmt.Sprintf("<@%s> (%s)", t.Agent, agentText)
	}
	dest, destText := code(t.To.String()), esc(t.To.String())
	if t.Destination != "" {
		dest = fmt.Sprintf("%s · %s", esc(t.Label), dest)
		destText = fmt.Sprintf("%s (%s)", esc(t.Label), destText)
	}
	kind := capitalize(kindName(t.PlivoAction()))
	text := fmt.Sprintf("%s requested by <@%s>: agent %s hands the call to %s (joins as %s).",
		kind, j.userID, agentText, destText, t.Role)
	blocks := []slack.Block{
		slack.NewSectionBlock(mrkdwn(fmt.Sprintf(":twisted_rightwards_arrows: *%s* requested by <@%s> with %s", kind, j.userID, via)), []*slack.TextBlockObject{
			mrkdwn("*Agent on the call*\n" + agent),
			mrkdwn("*Transfer to*\n" + dest),
			mrkdwn("*Joins as*\n" + string(t.Role)),
		}, nil),
		slack.NewContextBlock("", mrkdwn(status)),
	}
	return text, blocks
}

// kindName is the action in a supervisor's words: "cold transfer", "warm
// transfer", "abort".
func kindName(a outcome.Action) string {
	switch a {
	case outcome.WarmTransfer:
		return "warm transfer"
	case outcome.AbortTransfer:
		return "abort"
	}
	return "cold transfer"
}

// capitalize upper-cases the first letter of s.
func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func mrkdwn(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, s, false, false)
}

const (
	statusPending = ":hourglass_flowing_sand: Asking Plivo…"
	statusDryRun  = ":test_tube: Dry run: Plivo is not called."
)

// outcome is the result of a transfer as the channel is told it.
type transferResult struct {
	action outcome.Action
	result plivo.Result
	err    error
	dryRun string        // the request that would have been sent, for a dry run
	lostTo *store.Holder // the request that took the call's lapsed claim: Plivo was not asked
}

// name classifies the outcome as the audit line names it; the reply and
// the status line follow from it.
func (o transferResult) name() outcome.Outcome {
	switch {
	case o.dryRun != "":
		return outcome.DryRun
	case o.lostTo != nil:
		return outcome.CallClaimed
	case o.err == nil:
		return outcome.Transferred
	case mayHaveReachedPlivo(o.err):
		return outcome.Unknown
	default:
		return outcome.Failed
	}
}

// replyText is the thread reply under the announcement.
func (o transferResult) replyText() string {
	switch o.name() {
	case outcome.DryRun:
		return ":test_tube: Dry run: Plivo was not called. It would have been sent " + code(o.dryRun) + "."
	case outcome.Transferred:
		accepted := ":white_check_mark: Plivo accepted the " + kindName(o.action)
		if o.action == outcome.WarmTransfer {
			// What Plivo's answer says: the request was taken, not that
			// anyone is connected.
			accepted += ": the agent and the destination now talk privately while the caller waits on hold"
		}
		if o.result.APIID == "" {
			return accepted + ", but gave no api_id for it."
		}
		return accepted + ". api_id: " + code(o.result.APIID)
	case outcome.Unknown:
		return ":warning: Transfer outcome unknown. " + esc(errorSentence(o.err))
	case outcome.CallClaimed:
		return lostClaimText(*o.lostTo)
	default:
		return ":x: Not transferred. " + esc(errorSentence(o.err))
	}
}

// statusLine is the announcement's last line once the outcome is known.
func (o transferResult) statusLine() string {
	switch o.name() {
	case outcome.DryRun:
		return ":test_tube: Dry run: nothing was sent to Plivo."
	case outcome.Transferred:
		if o.result.APIID == "" {
			return ":white_check_mark: Transferred · Plivo gave no api_id"
		}
		return ":white_check_mark: Transferred · api_id " + code(o.result.APIID)
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

func replyLostText(o transferResult, err error) string {
	if _, ok := errors.AsType[*slackapi.MaybeSentError](err); ok {
		return "Slack did not confirm that it posted the result in the channel thread. " + o.replyText()
	}
	return "I could not post the result in the channel thread. " + o.replyText()
}

// panicText tells a requester that the bot failed inside while handling
// their request; plivoAsked says whether it had asked Plivo by then.
func panicText(plivoAsked bool) string {
	if plivoAsked {
		return ":warning: Something went wrong inside the bot while it was transferring this call: the call may or may not have been transferred. Check the call before trying again, and tell the bot's operator."
	}
	return ":x: Something went wrong inside the bot before it asked Plivo, so nothing was transferred. Try again; if it happens again, tell the bot's operator."
}

// lostClaimText is the thread reply when the call's claim lapsed before
// Plivo was asked and another request took it: this one stands down.
func lostClaimText(h store.Holder) string {
	return fmt.Sprintf(":x: Not transferred: while this request waited on Slack, <@%s> started transferring the same call (see <#%s>). Plivo was not asked.", h.User, h.Channel)
}

// rateLimitedText tells a requester past TRANSFER_RATE_PER_USER when to try
// again.
func rateLimitedText(retryAfter time.Duration) string {
	return fmt.Sprintf(":hourglass: You have started as many transfers as one person may in a short time "+
		"(TRANSFER_RATE_PER_USER), so nothing was transferred. Try again in %s.", humanDuration(retryAfter))
}

// humanDuration renders d rounded up to a whole second, e.g. "1 second",
// "42 seconds", "3 min 5 s".
func humanDuration(d time.Duration) string {
	secs := int((d + time.Second - 1) / time.Second)
	switch {
	case secs <= 1:
		return "1 second"
	case secs < 60:
		return fmt.Sprintf("%d seconds", secs)
	case secs%60 == 0:
		return fmt.Sprintf("%d min", secs/60)
	}
	return fmt.Sprintf("%d min %d s", secs/60, secs%60)
}

// callClaimedText tells a second requester that the call is already being
// transferred, by whom and where.
func callClaimedText(h store.Holder, call string) string {
	return fmt.Sprintf(":no_entry: <@%s> is transferring the call of %s, or transferred it moments ago (see <#%s>), so nothing was transferred: "+
		"a call stays held for a few seconds after its transfer. Check that thread before trying again.", h.User, code(call), h.Channel)
}

const claimUncheckedText = ":warning: I could not check whether someone else is transferring this call just now, " +
	"so nothing was transferred. Try again in a few seconds."

// staleText answers a press on a transfer too old for its buttons.
const staleText = ":hourglass: This transfer is more than 30 minutes old, so its Abort button no longer acts: the call has moved on. Check the call itself."

// alreadyPressedText tells a presser that someone pressed Abort first.
func alreadyPressedText(h store.Holder) string {
	return fmt.Sprintf(":no_entry: <@%s> already pressed Abort on this transfer (see <#%s>), so it was not sent again. Check that thread.", h.User, h.Channel)
}

// abortReplyText is the thread reply to an Abort press by presser.
func abortReplyText(o transferResult, presser string) string {
	by := fmt.Sprintf(" (asked by <@%s>)", presser)
	switch o.name() {
	case outcome.DryRun:
		return ":test_tube: Dry run: Plivo was not called. It would have been sent " + code(o.dryRun) + "." + by
	case outcome.Transferred:
		accepted := ":leftwards_arrow_with_hook: Plivo accepted the abort: the agent who started the warm transfer goes back to the caller" + by
		if o.result.APIID == "" {
			return accepted + ". Plivo gave no api_id for it."
		}
		return accepted + ". api_id: " + code(o.result.APIID)
	case outcome.Unknown:
		return ":warning: Abort outcome unknown" + by + ". " + esc(errorSentence(o.err))
	default:
		return ":x: Not aborted" + by + ". " + esc(errorSentence(o.err))
	}
}

// abortedStatus is the announcement's status line once Plivo accepted an
// abort.
func abortedStatus(o transferResult) string {
	if o.result.APIID == "" {
		return ":leftwards_arrow_with_hook: Transfer aborted"
	}
	return ":leftwards_arrow_with_hook: Transfer aborted · api_id " + code(o.result.APIID)
}

// abortedReplyText replaces a ✅ reply once its transfer was aborted.
const abortedReplyText = ":white_check_mark: Plivo accepted the warm transfer; it was then aborted (see below)."

// The Home tab (homeview.go), the message shortcut (shortcut.go) and the
// audit channel (auditchannel.go).

const (
	homeTitle             = "Cold transfer"
	homeNewTransferButton = "New transfer"
)

// homeStatusText is the top of a Home tab: may the user transfer, where,
// and if not, why and whom to ask. A user whose groups Slack could not
// confirm is told so, and shown nothing that depends on it.
func homeStatusText(d authz.Decision, channels []string) string {
	switch {
	case d.Allowed:
		where := "in any channel the bot can post in"
		if len(channels) > 0 {
			where = "in " + channelList(channels)
		}
		return ":white_check_mark: *You may transfer calls* " + where +
			": with *New transfer* below, `/transfer` in the channel, or *Transfer this caller* on a message about the call (⋮ → More message shortcuts)."
	case d.Denial == authz.DeniedLookup:
		return ":warning: *Slack could not confirm your user-group membership just now*, so this tab cannot say whether you may transfer calls, " +
			"and shows nothing that depends on it (destinations, typed numbers, agents). Open the tab again in a minute; if this stays, tell the bot's operator."
	default:
		return ":no_entry: *You may not transfer calls.* To be allowed, ask the bot's operator to add you to TRANSFER_ALLOWED_USERS or to an allowed user group."
	}
}

// channelList renders channel ids as mentions: "<#C1>, <#C2> or <#C3>".
func channelList(ids []string) string {
	ms := make([]string, len(ids))
	for i, id := range ids {
		ms[i] = "<#" + id + ">"
	}
	if len(ms) == 1 {
		return ms[0]
	}
	return strings.Join(ms[:len(ms)-1], ", ") + " or " + ms[len(ms)-1]
}

// homeDestinationLines list the destinations a user may send calls to: as
// /transfer list does, label, name and endpoint.
func homeDestinationLines(info homeInfo) []string {
	if info.dir == nil {
		return []string{"*There is no floor directory*: give the number or SIP address the call goes to, in the form or as `/transfer <to> from <agent on the call>`."}
	}
	var ls []string
	if len(info.usable) == 0 {
		ls = append(ls, "*There is no destination in the floor directory you may send calls to.*")
	} else {
		ls = append(ls, "*Destinations you may send calls to* (by name in `/transfer`, in any case):")
	}
	if info.unchecked > 0 {
		ls = append(ls, fmt.Sprintf(":warning: %d more are limited to user groups Slack could not confirm just now, and are not shown.", info.unchecked))
	}
	for _, d := range info.usable {
		ls = append(ls, fmt.Sprintf("• %s · `%s` → %s", esc(d.Label), d.Name, code(d.To.String())))
	}
	return ls
}

// homeTypedText says whether a user may type numbers and SIP addresses,
// and within what (typed is the directory's policy, d the decision).
func homeTypedText(d authz.Decision, typed directory.Typed) string {
	switch {
	case d.Allowed:
		var within []string
		if len(typed.Prefixes) > 0 {
			within = append(within, "numbers starting "+codeList(typed.Prefixes))
		}
		if len(typed.DenyPrefixes) > 0 {
			within = append(within, "never numbers starting "+codeList(typed.DenyPrefixes))
		}
		if len(typed.SIPDomains) > 0 {
			within = append(within, "SIP addresses only at "+codeList(typed.SIPDomains))
		}
		if len(within) == 0 {
			return "*You may also type a number or SIP address*, to anywhere."
		}
		return "*You may also type a number or SIP address*: " + strings.Join(within, "; ") + "."
	case d.Destination != nil && d.Destination.LookupFailed:
		return ":warning: Whether you may type numbers and SIP addresses could not be checked just now (a user-group lookup failed): the form does not offer it until it can be."
	case d.Destination != nil && d.Destination.Rule == authz.RuleTypedNotAllowed:
		return "Numbers and SIP addresses typed by hand are not allowed on this floor: use the destinations above."
	default:
		return "You may not type numbers or SIP addresses: use the destinations above."
	}
}

// homeAgentLines list the floor's agents, or when the directory cannot
// list them, how many there are and whether the user is one.
func homeAgentLines(info homeInfo) []string {
	if !info.agentsListed {
		line := fmt.Sprintf("*Agents on the floor*: %d in the floor directory; pick the agent on the call in the form, or name them with `from @name`.", info.dir.NumAgents())
		if a, ok := info.dir.Agent(info.user); ok {
			line += fmt.Sprintf(" You are one of them, on %s: `from me` names you.", code(a.Endpoint.String()))
		}
		return []string{line}
	}
	if len(info.agents) == 0 {
		return []string{"*There are no agents in the floor directory*: give the number or SIP address the agent is on the call with."}
	}
	ls := []string{"*Agents on the floor* (the agent on the call: pick them in the form, or `from @name`):"}
	for _, a := range info.agents {
		ls = append(ls, fmt.Sprintf("• <@%s> · %s", a.Slack, code(a.Endpoint.String())))
	}
	return ls
}

// homeRecentLines list a user's own last transfers, newest first.
func homeRecentLines(info homeInfo) []string {
	ls := []string{fmt.Sprintf("*Your last transfers* (the last %d, kept %d days)", homeKeep, int(homeTTL.Hours()/24))}
	switch {
	case info.recentErr != nil:
		return append(ls, ":warning: Your last transfers could not be read just now; open the tab again in a minute.")
	case len(info.recent) == 0:
		return append(ls, fmt.Sprintf("None in the last %d days.", int(homeTTL.Hours()/24)))
	}
	for _, r := range info.recent {
		o := outcome.Outcome(r.Outcome)
		line := fmt.Sprintf("• <!date^%d^{date_short_pretty} {time}|%s> · %s %s · %s", r.At.Unix(), r.At.UTC().Format("2006-01-02 15:04 UTC"),
			outcomeMark(o), outcomeWords(o), capitalize(kindName(outcome.Action(r.Action))))
		if r.Destination != "" {
			dest := code(r.Destination)
			if info.dir != nil {
				if d, ok := info.dir.Destination(r.Destination); ok {
					dest = esc(d.Label)
				}
			}
			line += " to " + dest
		}
		if r.Agent != "" {
			line += " · agent " + agentMention(r.Agent)
		}
		if r.Channel != "" {
			line += " · <#" + r.Channel + ">"
		}
		if link := info.links[r.Channel+"/"+r.ThreadTS]; link != "" && r.ThreadTS != "" {
			line += " · <" + linkURL(link) + "|thread>"
		}
		ls = append(ls, line)
	}
	return ls
}

// homeCutText ends a list cut to fit the tab.
func homeCutText(n int) string {
	return fmt.Sprintf("…and %d more: the form offers them all.", n)
}

// agentMention renders an agent as the Home tab and the audit channel show
// it: a Slack user by mention, an address as code.
func agentMention(agent string) string {
	if isSlackUser(agent) {
		return "<@" + agent + ">"
	}
	return code(agent)
}

// isSlackUser reports whether s is a Slack user id (U… or W…, then
// upper-case letters and digits); an endpoint never is.
func isSlackUser(s string) bool {
	if len(s) < 3 || (s[0] != 'U' && s[0] != 'W') {
		return false
	}
	for _, c := range s[1:] {
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// outcomeMark is the mark an outcome shows with, as the thread's status
// line does.
func outcomeMark(o outcome.Outcome) string {
	switch o {
	case outcome.Transferred:
		return ":white_check_mark:"
	case outcome.DryRun:
		return ":test_tube:"
	case outcome.Failed:
		return ":x:"
	case outcome.Refused, outcome.RefusedDestination, outcome.CallClaimed:
		return ":no_entry:"
	case outcome.RateLimited, outcome.Busy:
		return ":hourglass:"
	}
	return ":warning:" // unknown, claim_unchecked, not_announced, invalid
}

// outcomeWords is an outcome in a supervisor's words.
func outcomeWords(o outcome.Outcome) string {
	switch o {
	case outcome.Transferred:
		return "Transferred"
	case outcome.DryRun:
		return "Dry run"
	case outcome.Failed:
		return "Not transferred"
	case outcome.Unknown:
		return "Outcome unknown"
	case outcome.Refused:
		return "Refused"
	case outcome.RefusedDestination:
		return "Destination refused"
	case outcome.CallClaimed:
		return "Call already being transferred"
	case outcome.RateLimited:
		return "Too many transfers"
	case outcome.ClaimUnchecked, outcome.NotAnnounced:
		return "Not started"
	}
	return capitalize(strings.ReplaceAll(string(o), "_", " "))
}

// linkURL is a link from Slack as a mrkdwn link target: & escaped.
func linkURL(u string) string { return strings.ReplaceAll(u, "&", "&amp;") }

// answerLink is the announcement's link to the message a shortcut was used
// on, "" without one. The link comes from chat.getPermalink through the
// form's private_metadata: only an https URL that cannot break out of the
// link is used.
func answerLink(permalink string) string {
	if !strings.HasPrefix(permalink, "https://") || strings.ContainsAny(permalink, "<>| \t\n") {
		return ""
	}
	return "<" + linkURL(permalink) + "|in answer to this message>"
}

// shortcutDMText refuses the shortcut on a message in a direct message.
const shortcutDMText = ":no_entry: This message is in a direct message. A transfer is announced in the channel of the message it answers, " +
	"for the floor to see, and a direct message is not such a place (the bot cannot even post in one between other people), so no form was opened. " +
	"Use *Transfer this caller* on a message in a channel, or `/transfer` there."

// auditChannelText is the audit channel's line of one request: when, who,
// how it ended, what it asked (as the announcement shows it), why it was
// refused, and its thread.
func auditChannelText(it auditItem, link string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "<!date^%d^{date_short} {time_secs}|%s> <@%s> %s `%s` · %s", it.at.Unix(), it.at.UTC().Format("2006-01-02 15:04:05 UTC"),
		it.requester, outcomeMark(it.outcome), it.outcome, kindName(it.action))
	if it.channel != "" {
		fmt.Fprintf(&b, " in <#%s>", it.channel)
	}
	t := it.spec
	if to := t.To.String(); to != "" {
		dest := code(to)
		if t.Destination != "" {
			dest = fmt.Sprintf("%s · %s", esc(t.Label), dest)
		}
		b.WriteString(" · to " + dest)
	}
	if from := t.TriggerSource.String(); from != "" {
		agent := code(from)
		if t.Agent != "" {
			agent = fmt.Sprintf("<@%s> · %s", t.Agent, agent)
		}
		b.WriteString(" · agent " + agent)
	}
	if it.reason != "" {
		b.WriteString(" · reason: " + esc(it.reason))
	}
	if link != "" {
		b.WriteString(" · <" + linkURL(link) + "|thread>")
	}
	return b.String()
}
