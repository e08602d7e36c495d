package slackbot

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"unicode"

	"github.com/coldtransfer/coldtransfer/internal/authz"
	"github.com/coldtransfer/coldtransfer/internal/directory"
	"github.com/coldtransfer/coldtransfer/internal/plivo"
)

// The floor directory on the Slack side: names and
// mentions become endpoints, /transfer list, and the destination policy
// applied before the announcement.

// fieldProblem is what is wrong with one side of a transfer.
type fieldProblem struct {
	msg string // no final period, unless sentence
	// sentence: msg is a whole sentence that does not read after the
	// field's name (e.g. an unknown destination name).
	sentence bool
}

// resolveTransfer turns the two sides of a transfer as typed (or picked)
// into endpoints: toText a destination name or an endpoint; fromText a
// mention, "me" or an endpoint. The role is the destination's default, or
// agent. Problems are keyed by field, "to" and "trigger_source".
func resolveTransfer(toText, fromText string, dir *directory.Directory, requester string) (transferSpec, map[string]fieldProblem) {
	bad := map[string]fieldProblem{}
	t := transferSpec{role: plivo.RoleAgent}
	var err error
	if strings.HasPrefix(strings.TrimSpace(toText), "<@") {
		bad[blockTo] = fieldProblem{msg: "a person can't be the destination: give " + destinationForms(dir)}
	} else if dir != nil && looksLikeName(toText) {
		name := strings.TrimSpace(toText)
		if d, ok := dir.Destination(name); ok {
			t.to, t.role, t.destination, t.label = d.To, d.Role, d.Name, d.Label
		} else {
			bad[blockTo] = fieldProblem{msg: unknownDestinationText(name, dir), sentence: true}
		}
	} else if t.to, err = plivo.ParseEndpoint(toText); err != nil {
		bad[blockTo] = fieldProblem{msg: strings.TrimSuffix(err.Error(), ".")}
	}

	if p, ok := resolveAgent(fromText, dir, requester, &t); !ok {
		bad[blockTriggerSource] = p
	}
	if len(bad) == 0 && t.to.Canonical() == t.triggerSource.Canonical() {
		what := t.to.String()
		if t.destination != "" {
			what = fmt.Sprintf("%s (%s)", t.destination, t.to)
		}
		bad[blockTo] = fieldProblem{msg: what + " is also the agent on the call: transfer the call to someone else"}
	}
	return t, bad
}

// resolveAgent sets t's trigger source from text: "me", a mention of an
// agent in the directory, or an endpoint.
func resolveAgent(text string, dir *directory.Directory, requester string, t *transferSpec) (fieldProblem, bool) {
	text = strings.TrimSpace(text)
	id, isMention := parseMention(text)
	isMe := strings.EqualFold(text, "me")
	switch {
	case (isMe || isMention) && dir == nil:
		return fieldProblem{sentence: true, msg: "Naming the agent by `me` or by mention needs the floor directory, and this bot has none: " +
			"give the number or SIP address the agent is on, like `from +14152223333`."}, false
	case isMe:
		a, ok := dir.Agent(requester)
		if !ok {
			return fieldProblem{sentence: true, msg: "You have no agent entry in the floor directory, so `from me` can't tell where you are on the call: " +
				"give the number or SIP address you are on instead, like `from +14152223333`, or ask the bot's operator to add you."}, false
		}
		t.triggerSource, t.agent = a.Endpoint, a.Slack
	case isMention:
		a, ok := dir.Agent(id)
		if !ok {
			return fieldProblem{sentence: true, msg: "<@" + id + "> has no agent entry in the floor directory: " +
				"give the number or SIP address they are on the call with instead, like `from +14152223333`."}, false
		}
		t.triggerSource, t.agent = a.Endpoint, a.Slack
	default:
		ep, err := plivo.ParseEndpoint(text)
		if err != nil {
			return fieldProblem{msg: strings.TrimSuffix(err.Error(), ".")}, false
		}
		t.triggerSource = ep
	}
	return fieldProblem{}, true
}

// mentionPattern is a user mention as Slack sends it with should_escape:
// <@U012AB3CD|alice> or <@U012AB3CD>; the name after | is ignored.
var mentionPattern = regexp.MustCompile(`^<@([UW][A-Z0-9]{2,30})(?:\|[^<>]*)?>$`)

func parseMention(s string) (string, bool) {
	m := mentionPattern.FindStringSubmatch(s)
	if m == nil {
		return "", false
	}
	return m[1], true
}

// looksLikeName reports whether s is meant as a destination name: names
// start with a letter, numbers with + and SIP addresses with sip:.
func looksLikeName(s string) bool {
	s = strings.TrimSpace(s)
	if s == "" || !('a' <= s[0]|0x20 && s[0]|0x20 <= 'z') {
		return false
	}
	return !strings.ContainsAny(s, ":@<>")
}

func destinationForms(dir *directory.Directory) string {
	if dir == nil {
		return "a number or a SIP address"
	}
	return "a destination name (`/transfer list`), a number or a SIP address"
}

// unknownDestinationText says that no destination is called name, and
// which one was probably meant.
func unknownDestinationText(name string, dir *directory.Directory) string {
	msg := "No destination called " + codeText(name)
	if s, ok := dir.Suggest(name); ok {
		msg += "; did you mean " + codeText(s) + "?"
	} else {
		msg += "."
	}
	return msg + " Type `/transfer list` to see the destinations you may use."
}

// codeText renders typed text as inline code in a plain-text problem,
// which is escaped for mrkdwn later: backticks, control characters and
// invalid UTF-8 must go.
func codeText(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '`':
			return '\''
		case unicode.IsControl(r):
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
	if r := []rune(s); len(r) > 40 {
		s = string(r[:40]) + "…"
	}
	return "`" + s + "`"
}

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
func destinationRefusalReason(t transferSpec, d authz.Decision, dir *directory.Directory) string {
	var rule authz.Rule
	if d.Destination != nil {
		rule = d.Destination.Rule
	}
	const none = ", so nothing was transferred."
	switch rule {
	case authz.RuleWho:
		if t.destination == "" {
			// Typed: the requester may not know the address is a
			// destination's, nor that the spelling makes no difference.
			name, label := d.Destination.Name, d.Destination.Name
			if dest, ok := dir.Destination(name); ok {
				label = dest.Label
			}
			return fmt.Sprintf(":no_entry: %s is the address of %s (`%s`), which you may not send calls to, by name or typed%s",
				code(t.to.String()), esc(label), name, none)
		}
		return fmt.Sprintf(":no_entry: You may not send calls to %s (`%s`)%s", esc(t.label), t.destination, none)
	case authz.RuleTypedNotAllowed:
		return ":no_entry: Numbers and SIP addresses typed by hand are not allowed here, only the floor directory's destinations" + none
	case authz.RuleDenyPrefix:
		return fmt.Sprintf(":no_entry: Numbers starting %s are barred on this floor (%s)%s", code(d.Destination.Matched), code(t.to.String()), none)
	case authz.RulePrefix:
		return fmt.Sprintf(":no_entry: Typed numbers must start with %s; %s does not%s", codeList(d.Destination.Wanted), code(t.to.String()), none)
	case authz.RuleSIPDomain:
		return fmt.Sprintf(":no_entry: Typed SIP addresses must be at %s, not %s%s", codeList(d.Destination.Wanted), code(d.Destination.Host), none)
	default: // authz.RuleTypedWho
		return fmt.Sprintf(":no_entry: You may not send calls to a number or SIP address typed by hand (%s)%s", code(t.to.String()), none)
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
