package slackbot

import (
	"context"
	"fmt"
	"strings"

	"github.com/coldtransfer/coldtransfer/internal/authz"
	"github.com/coldtransfer/coldtransfer/internal/directory"
	"github.com/coldtransfer/coldtransfer/internal/intake"
)

// destinationRefusalText tells the requester why the destination was
// refused and what they may do instead.
func (b *Bot) destinationRefusalText(j *request, d authz.Decision) string {
	if lookupFailed(d) {
		return ":no_entry: Slack could not confirm your user-group membership just now, so nothing was transferred. Try again in a minute; if it keeps failing, tell the bot's operator."
	}
	why := destinationRefusalReason(j.spec, d, j.dir)
	ctx, cancel := b.slackCtx()
	defer cancel()
	usable, _ := b.authorizer.UsableDestinations(ctx, j.userID, j.dir)
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
				code(t.To.String()), esc(label), name, none)
		}
		return fmt.Sprintf(":no_entry: You may not send calls to %s (`%s`)%s", esc(t.Label), t.Destination, none)
	case authz.RuleTypedNotAllowed:
		return ":no_entry: Numbers and SIP addresses typed by hand are not allowed here, only the floor directory's destinations" + none
	case authz.RuleDenyPrefix:
		return fmt.Sprintf(":no_entry: Numbers starting %s are barred on this floor (%s)%s", code(d.Destination.Matched), code(t.To.String()), none)
	case authz.RulePrefix:
		return fmt.Sprintf(":no_entry: Typed numbers must start with %s; %s does not%s", codeList(d.Destination.Wanted), code(t.To.String()), none)
	case authz.RuleSIPDomain:
		return fmt.Sprintf(":no_entry: Typed SIP addresses must be at %s, not %s%s", codeList(d.Destination.Wanted), code(d.Destination.Host), none)
	default: // authz.RuleTypedWho
		return fmt.Sprintf(":no_entry: You may not send calls to a number or SIP address typed by hand (%s)%s", code(t.To.String()), none)
	}
}

// codeList renders items as inline code joined by "or".
func codeList(items []string) string {
	quoted := make([]string, len(items))
	for i, it := range items {
		quoted[i] = code(it)
	}
	return strings.Join(quoted, " or ")
}

// lookupFailed reports whether a refusal came from a group that Slack
// could not be asked about, rather than from the policy.
func lookupFailed(d authz.Decision) bool {
	return d.Denial == authz.DeniedLookup || (d.Destination != nil && d.Destination.LookupFailed)
}

// listNow answers /transfer list in the ack when that needs no call to
// Slack: the requester is allowed or refused by id or channel, and every
// who list that concerns them is decided by ids alone.
func (b *Bot) listNow(j *request) (string, bool) {
	cached := b.authorizer.CacheOnly()
	d := cached.Decide(context.Background(), j.userID, j.channelID)
	switch {
	case d.Allowed:
	case d.Denial == authz.DeniedChannel || d.Denial == authz.DeniedUser:
		return refusalText(d), true
	default:
		return "", false // a group must be looked up
	}
	if j.dir != nil && !authz.DecidableByID(j.dir, j.userID) {
		return "", false
	}
	return listFor(context.Background(), cached, j), true
}

// list answers /transfer list after the ack, when groups must be looked up.
func (b *Bot) list(j *request) {
	ctx, cancel := b.slackCtx()
	defer cancel()
	if d := b.authorizer.Decide(ctx, j.userID, j.channelID); !d.Allowed {
		b.tell(j, refusalText(d))
		return
	}
	b.tell(j, listFor(ctx, b.authorizer, j))
}

// Limits of the /transfer list answer: it must fit in an ack (under
// Slack's 20 KB) and stay readable; the form searches them all.
const (
	maxListLines = 100
	maxListBytes = 12_000
)

// listFor is the answer to /transfer list for an allowed requester, by
// what p says they may use.
func listFor(ctx context.Context, p policy, j *request) string {
	if j.dir == nil {
		return "There is no floor directory: give a number or SIP address, e.g. `/transfer +1 415 222 5555 from +1 415 222 3333`."
	}
	usable, _ := p.UsableDestinations(ctx, j.userID, j.dir)
	mayType := p.MayType(ctx, j.userID, j.dir.Typed()).Allowed
	var sb strings.Builder
	if len(usable) == 0 {
		sb.WriteString("*There is no destination in the floor directory you may send calls to.*\n")
	} else {
		sb.WriteString("*Destinations you may send calls to* (type the name, in any case):\n")
	}
	shown := 0
	for _, d := range usable {
		line := fmt.Sprintf("• %s: `%s` → %s\n", esc(d.Label), d.Name, code(d.To.String()))
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
		if _, ok := j.dir.Agent(j.userID); ok {
			from = "me"
		}
		fmt.Fprintf(&sb, "\ne.g. `/transfer %s from %s`", usable[0].Name, from)
	}
	return sb.String()
}
