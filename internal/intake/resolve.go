package intake

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"

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
func resolveTransfer(toText, fromText string, dir *directory.Directory, requester string) (Spec, map[string]fieldProblem) {
	bad := map[string]fieldProblem{}
	t := Spec{Role: plivo.RoleAgent}
	var err error
	if strings.HasPrefix(strings.TrimSpace(toText), "<@") {
		bad[BlockTo] = fieldProblem{msg: "a person can't be the destination: give " + destinationForms(dir)}
	} else if dir != nil && looksLikeName(toText) {
		name := strings.TrimSpace(toText)
		if d, ok := dir.Destination(name); ok {
			t.To, t.Role, t.Destination, t.Label = d.To, d.Role, d.Name, d.Label
		} else {
			bad[BlockTo] = fieldProblem{msg: unknownDestinationText(name, dir), sentence: true}
		}
	} else if t.To, err = plivo.ParseEndpoint(toText); err != nil {
		bad[BlockTo] = fieldProblem{msg: strings.TrimSuffix(err.Error(), ".")}
	}

	if p, ok := resolveAgent(fromText, dir, requester, &t); !ok {
		bad[blockTriggerSource] = p
	}
	if len(bad) == 0 && t.To.Canonical() == t.TriggerSource.Canonical() {
		what := t.To.String()
		if t.Destination != "" {
			what = fmt.Sprintf("%s (%s)", t.Destination, t.To)
		}
		bad[BlockTo] = fieldProblem{msg: what + " is also the agent on the call: transfer the call to someone else"}
	}
	return t, bad
}

// resolveAgent sets t's trigger source from text: "me", a mention of an
// agent in the directory, or an endpoint.
func resolveAgent(text string, dir *directory.Directory, requester string, t *Spec) (fieldProblem, bool) {
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
		t.TriggerSource, t.Agent = a.Endpoint, a.Slack
	case isMention:
		a, ok := dir.Agent(id)
		if !ok {
			return fieldProblem{sentence: true, msg: "<@" + id + "> has no agent entry in the floor directory: " +
				"give the number or SIP address they are on the call with instead, like `from +14152223333`."}, false
		}
		t.TriggerSource, t.Agent = a.Endpoint, a.Slack
	default:
		ep, err := plivo.ParseEndpoint(text)
		if err != nil {
			return fieldProblem{msg: strings.TrimSuffix(err.Error(), ".")}, false
		}
		t.TriggerSource = ep
	}
	return fieldProblem{}, true
}

// mentionPattern is a user mention as Slack sends it with should_escape:
// <@U012AB3CD|alice> or <@U012AB3CD>; the name after | is ignored.
var mentionPattern = regexp.MustCompile(`^<@([UW][A-Z0-9]{2,30})(?:\|[^<>]*)?>$`)

func parseMention(s string) (string, bool) {
	if !strings.HasPrefix(s, "<@") {
		return "", false // a number or a SIP address: no need to run the pattern
	}
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
