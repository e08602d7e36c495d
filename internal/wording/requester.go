package wording

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/coldtransfer/coldtransfer/internal/authz"
	"github.com/coldtransfer/coldtransfer/internal/directory"
	"github.com/coldtransfer/coldtransfer/internal/intake"
	"github.com/coldtransfer/coldtransfer/internal/slackapi"
	"github.com/coldtransfer/coldtransfer/internal/store"
)

// What only the requester reads: how to use /transfer, what they may use,
// and why nothing was transferred.

const usageText = "*Cold-transfer a live call*\n" +
	"• `/transfer` opens a form.\n" +
	"• `/transfer <to> from <agent on the call> [as agent|customer]` transfers at once, e.g.\n" +
	"    `/transfer +1 415 222 5555 from +1 415 222 3333`\n" +
	"    `/transfer sip:queue@pbx.example.com from +14152223333 as customer`\n" +
	"The agent on the call hands it to `<to>` and leaves. Phone numbers in international form " +
	"(+ and the country code); SIP addresses as `sip:user@host`. The role (default agent) is how `<to>` joins the call."

// NoDestinations answers a requester who may neither pick nor type a
// destination, so no form opens.
const NoDestinations = ":no_entry: There is no destination in the floor directory you may send calls to, and you may not type numbers, so there is no form to open. Ask the bot's operator."

// ChannelBusy answers a transfer in a channel whose messages Slack is
// holding back, with that channel's share of the bot already waiting.
const ChannelBusy = ":hourglass: Slack is holding back the bot's messages in this channel right now, and other transfers here are waiting their turn, so this one was not started: nothing was sent. Try again in a minute, or use another channel."

// Busy answers a request the bot has no room for.
const Busy = ":hourglass: Too many transfers are in progress right now, so nothing was sent. Try again in a few seconds."

// Usage is the usage text, with examples from the floor directory dir
// when there is one.
func Usage(dir *directory.Directory) string {
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
		fmt.Fprintf(&b, "• `<to>` may be a destination's name, in any case: `/transfer %s from me` sends the call you are on to %s.\n", ex.Name, Esc(ex.Label))
	}
	b.WriteString("• The agent on the call may be `me` (your own entry) or a mention: `from @alice`.\n")
	b.WriteString("• `/transfer list` shows the destinations you may use, and whether you may type numbers.")
	return b.String()
}

// mentionEscaped is a user mention after Esc: problems may name a user,
// and the mention should still render.
var mentionEscaped = regexp.MustCompile(`&lt;@([UW][A-Z0-9]{2,30})&gt;`)

// Invalid answers a command that could not be read: each problem, then
// the usage.
func Invalid(problems []string, dir *directory.Directory) string {
	var b strings.Builder
	for _, p := range problems {
		b.WriteString(":warning: ")
		b.WriteString(mentionEscaped.ReplaceAllString(Esc(p), "<@$1>"))
		b.WriteString("\n")
	}
	b.WriteString("\n")
	b.WriteString(Usage(dir))
	return b.String()
}

// Unreadable answers a slash command Slack sent in a form the bot could
// not read.
const Unreadable = ":warning: Slack sent this request in a form I could not read, so nothing was done. Try again; if it keeps happening, tell the bot's operator."

// Refusal tells a requester why they may not transfer, and whom to ask.
func Refusal(d authz.Decision) string {
	switch d.Denial {
	case authz.DeniedChannel:
		return ":no_entry: Calls can't be transferred from this channel. Use a channel the bot's operator allowed (TRANSFER_ALLOWED_CHANNELS)."
	case authz.DeniedLookup:
		return ":no_entry: Slack could not confirm your user-group membership just now, so nothing was transferred. Try again in a minute; if it keeps failing, tell the bot's operator."
	default:
		return ":no_entry: You are not allowed to transfer calls. Ask the bot's operator to add you to TRANSFER_ALLOWED_USERS or to an allowed user group."
	}
}

// AnnounceFailed tells the requester why nothing ran when the channel
// announcement could not be posted: no audit, no transfer.
func AnnounceFailed(err error, botUserID, channelID string) string {
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
		return fmt.Sprintf(":warning: I could not post the announcement in this channel (%s), so nothing was transferred. Try again in a moment.", Esc(describeSlackError(err)))
	}
}

// ModalFailed tells the requester that the form could not be opened, and
// what to do instead.
func ModalFailed(err error) string {
	return fmt.Sprintf(":warning: I could not open the transfer form (%s). Type `/transfer` again, or use `/transfer <to> from <agent on the call>`.", Esc(describeSlackError(err)))
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

// Panic tells a requester that the bot failed inside while handling their
// request; plivoAsked says whether it had asked Plivo by then.
func Panic(plivoAsked bool) string {
	if plivoAsked {
		return ":warning: Something went wrong inside the bot while it was transferring this call: the call may or may not have been transferred. Check the call before trying again, and tell the bot's operator."
	}
	return ":x: Something went wrong inside the bot before it asked Plivo, so nothing was transferred. Try again; if it happens again, tell the bot's operator."
}

// RateLimited tells a requester past TRANSFER_RATE_PER_USER when to try
// again.
func RateLimited(retryAfter time.Duration) string {
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

// CallClaimed tells a second requester that the call is already being
// transferred, by whom and where.
func CallClaimed(h store.Holder, call string) string {
	return fmt.Sprintf(":no_entry: <@%s> is transferring the call of %s, or transferred it moments ago (see <#%s>), so nothing was transferred: "+
		"a call stays held for a few seconds after its transfer. Check that thread before trying again.", h.User, Code(call), h.Channel)
}

// ClaimUnchecked answers a transfer whose call's claim the shared store
// could not check: never two transfers of one call, so none.
const ClaimUnchecked = ":warning: I could not check whether someone else is transferring this call just now, " +
	"so nothing was transferred. Try again in a few seconds."

// Stale answers a press on a transfer too old for its buttons.
const Stale = ":hourglass: This transfer is more than 30 minutes old, so its Abort button no longer acts: the call has moved on. Check the call itself."

// AlreadyPressed tells a presser that someone pressed Abort first.
func AlreadyPressed(h store.Holder) string {
	return fmt.Sprintf(":no_entry: <@%s> already pressed Abort on this transfer (see <#%s>), so it was not sent again. Check that thread.", h.User, h.Channel)
}

// ShortcutDM refuses the shortcut on a message in a direct message.
const ShortcutDM = ":no_entry: This message is in a direct message. A transfer is announced in the channel of the message it answers, " +
	"for the floor to see, and a direct message is not such a place (the bot cannot even post in one between other people), so no form was opened. " +
	"Use *Transfer this caller* on a message in a channel, or `/transfer` there."

// DestinationUnchecked answers a transfer refused because a user group
// its destination is limited to could not be looked up.
const DestinationUnchecked = ":no_entry: Slack could not confirm your user-group membership just now, so nothing was transferred. Try again in a minute; if it keeps failing, tell the bot's operator."

// DestinationRefusal tells the requester why the destination of t was
// refused (d, by the policy of dir) and what they may use instead.
func DestinationRefusal(t intake.Spec, d authz.Decision, dir *directory.Directory, usable []directory.Destination) string {
	why := destinationRefusalReason(t, d, dir)
	if len(usable) == 0 {
		return why + " There is no destination in the floor directory you may use: ask the bot's operator."
	}
	names := make([]string, 0, min(len(usable), 20))
	for _, u := range usable[:min(len(usable), 20)] {
		names = append(names, "`"+u.Name+"`")
	}
	more := ""
	if len(usable) > len(names) {
		more = fmt.Sprintf(" and %d more", len(usable)-len(names))
	}
	return fmt.Sprintf("%s Destinations you may use: %s%s (`/transfer list` shows them all), e.g. `/transfer %s from me`.",
		why, strings.Join(names, ", "), more, usable[0].Name)
}

// destinationRefusalReason is the first sentence of a destination refusal:
// which rule refused t, in the requester's words.
func destinationRefusalReason(t intake.Spec, d authz.Decision, dir *directory.Directory) string {
	var rule authz.Rule
	if d.Destination != nil {
		rule = d.Destination.Rule
	}
	const none = ", so nothing was transferred."
	switch rule {
	case authz.RuleWho:
		if t.Destination == "" {
			// Typed: the requester may not know the address is a
			// destination's, nor that the spelling makes no difference.
			name, label := d.Destination.Name, d.Destination.Name
			if dest, ok := dir.Destination(name); ok {
				label = dest.Label
			}
			return fmt.Sprintf(":no_entry: %s is the address of %s (`%s`), which you may not send calls to, by name or typed%s",
				Code(t.To.String()), Esc(label), name, none)
		}
		return fmt.Sprintf(":no_entry: You may not send calls to %s (`%s`)%s", Esc(t.Label), t.Destination, none)
	case authz.RuleTypedNotAllowed:
		return ":no_entry: Numbers and SIP addresses typed by hand are not allowed here, only the floor directory's destinations" + none
	case authz.RuleDenyPrefix:
		return fmt.Sprintf(":no_entry: Numbers starting %s are barred on this floor (%s)%s", Code(d.Destination.Matched), Code(t.To.String()), none)
	case authz.RulePrefix:
		return fmt.Sprintf(":no_entry: Typed numbers must start with %s; %s does not%s", CodeList(d.Destination.Wanted), Code(t.To.String()), none)
	case authz.RuleSIPDomain:
		return fmt.Sprintf(":no_entry: Typed SIP addresses must be at %s, not %s%s", CodeList(d.Destination.Wanted), Code(d.Destination.Host), none)
	default: // authz.RuleTypedWho
		return fmt.Sprintf(":no_entry: You may not send calls to a number or SIP address typed by hand (%s)%s", Code(t.To.String()), none)
	}
}

// NoDirectoryList answers /transfer list without a floor directory.
const NoDirectoryList = "There is no floor directory: give a number or SIP address, e.g. `/transfer +1 415 222 5555 from +1 415 222 3333`."

// Limits of the /transfer list answer: it must fit in an ack (under
// Slack's 20 KB) and stay readable; the form searches them all.
const (
	maxListLines = 100
	maxListBytes = 12_000
)

// List is the answer to /transfer list for userID, allowed to transfer:
// the destinations of dir they may use, and whether they may type
// numbers.
func List(dir *directory.Directory, userID string, usable []directory.Destination, mayType bool) string {
	var sb strings.Builder
	if len(usable) == 0 {
		sb.WriteString("*There is no destination in the floor directory you may send calls to.*\n")
	} else {
		sb.WriteString("*Destinations you may send calls to* (type the name, in any case):\n")
	}
	shown := 0
	for _, d := range usable {
		line := fmt.Sprintf("• %s: `%s` → %s\n", Esc(d.Label), d.Name, Code(d.To.String()))
		if shown == maxListLines || sb.Len()+len(line) > maxListBytes {
			break
		}
		sb.WriteString(line)
		shown++
	}
	if rest := len(usable) - shown; rest > 0 {
		fmt.Fprintf(&sb, "…and %d more: `/transfer` opens a form where you can search them all.\n", rest)
	}
	if mayType {
		sb.WriteString("You may also type a number or SIP address instead of a name.")
	} else {
		sb.WriteString("You may not type numbers or SIP addresses: use a name from the directory.")
	}
	if len(usable) > 0 {
		from := "+1 415 222 3333"
		if _, ok := dir.Agent(userID); ok {
			from = "me"
		}
		fmt.Fprintf(&sb, "\ne.g. `/transfer %s from %s`", usable[0].Name, from)
	}
	return sb.String()
}
