package intake

import (
	"errors"
	"fmt"
	"strings"

	"github.com/coldtransfer/coldtransfer/internal/directory"
	"github.com/coldtransfer/coldtransfer/internal/outcome"
	"github.com/coldtransfer/coldtransfer/internal/plivo"
)

// Kind is what the text after /transfer asks for.
type Kind int

const (
	KindForm     Kind = iota // empty: open the form
	KindHelp                 // "help"
	KindTransfer             // "<to> from <trigger_source> [as agent|customer]"
	KindInvalid              // anything else
	KindList                 // "list": the destinations this requester may use
)

// Command is the text of one /transfer, parsed: what the requester
// asked for.
type Command struct {
	Kind     Kind
	Spec     Spec     // for KindTransfer
	Problems []string // for KindInvalid: what is wrong, one sentence each
}

// Spec is what one transfer moves: the call of TriggerSource to To, as
// Role, and where in the floor directory the endpoints came from.
type Spec struct {
	To            plivo.Endpoint
	TriggerSource plivo.Endpoint
	Role          plivo.Role
	Destination   string // the directory name To came from; "" when typed
	Label         string // that destination's label
	Agent         string // the Slack user id TriggerSource came from; "" when typed
	// Action is what Plivo is asked: cold_transfer (the zero value too) or
	// warm_transfer.
	Action outcome.Action
}

// PlivoAction is s.Action, cold_transfer when it is not set.
func (s Spec) PlivoAction() outcome.Action {
	if s.Action == "" {
		return outcome.ColdTransfer
	}
	return s.Action
}

// slackUnescaper undoes the escaping Slack applies to &, < and > in the text
// of a slash command; links (<tel:…|…>) use real angle brackets and survive.
var slackUnescaper = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&")

// ParseCommand parses the text typed after /transfer by requester, with
// the floor directory dir (nil for none) for names, mentions and "me". The
// text is split on the keywords "from" and "as" (any case), so numbers may
// contain spaces.
func ParseCommand(text string, dir *directory.Directory, requester string) Command {
	fields := strings.Fields(slackUnescaper.Replace(text))
	if len(fields) == 0 {
		return Command{Kind: KindForm}
	}
	if len(fields) == 1 && strings.EqualFold(fields[0], "help") {
		return Command{Kind: KindHelp}
	}
	if len(fields) == 1 && strings.EqualFold(fields[0], "list") {
		return Command{Kind: KindList}
	}
	action := outcome.ColdTransfer
	if strings.EqualFold(fields[0], "warm") {
		// "warm" as the first word asks for a warm transfer; a destination
		// name can never be "warm" followed by more words.
		action, fields = outcome.WarmTransfer, fields[1:]
		if len(fields) == 0 {
			return invalid("`warm` needs a transfer after it: write `warm <to> from <agent on the call>`.")
		}
	}

	from, as := -1, -1
	var problems []string
	for i, f := range fields {
		switch {
		case strings.EqualFold(f, "from") && from >= 0:
			problems = append(problems, "`from` appears more than once: write `<to> from <agent on the call>`.")
		case strings.EqualFold(f, "from"):
			from = i
		case strings.EqualFold(f, "as") && as >= 0:
			problems = append(problems, "`as` appears more than once: write `as agent` or `as customer` at the end.")
		case strings.EqualFold(f, "as"):
			as = i
		}
	}
	if len(problems) > 0 {
		return Command{Kind: KindInvalid, Problems: problems}
	}
	if from < 0 {
		return invalid("`from` is missing: write who to transfer to, then `from`, then the agent on the call.")
	}
	if as >= 0 && as < from {
		return invalid("`as` must come after `from <agent on the call>`.")
	}

	end := len(fields)
	var role plivo.Role
	if as >= 0 {
		end = as
		r, err := plivo.ParseRole(strings.Join(fields[as+1:], " "))
		if err != nil {
			problems = append(problems, sentence(err.Error()))
		}
		role = r
	}
	t, bad := resolveTransfer(strings.Join(fields[:from], " "), strings.Join(fields[from+1:end], " "), dir, requester)
	for _, f := range commandFieldNames {
		if p, ok := bad[f.field]; ok && p.sentence {
			problems = append(problems, p.msg)
		} else if ok {
			problems = append(problems, f.name+": "+p.msg+".")
		}
	}
	if len(problems) > 0 {
		return Command{Kind: KindInvalid, Problems: problems}
	}
	if role != "" {
		t.Role = role // an explicit role wins over the destination's
	}
	t.Action = action
	if p, ok := warmRefused(t, dir); !ok {
		return invalid(p)
	}
	return Command{Kind: KindTransfer, Spec: t}
}

func invalid(problem string) Command {
	return Command{Kind: KindInvalid, Problems: []string{problem}}
}

// commandFieldNames names the fields of a transfer the way the one-line
// command places them.
var commandFieldNames = []struct{ field, name string }{
	{"to", "Destination (before `from`)"},
	{"trigger_source", "Agent on the call (after `from`)"},
}

// fieldMessages maps each bad field of a transfer to what is wrong with it,
// from the *plivo.FieldError values joined in err.
func fieldMessages(err error) map[string]string {
	msgs := map[string]string{}
	for _, e := range unjoin(err) {
		field := BlockTo
		if fe, ok := errors.AsType[*plivo.FieldError](e); ok {
			field, e = fe.Field, fe.Err
		}
		if e != nil {
			msgs[field] = strings.TrimSuffix(e.Error(), ".")
		}
	}
	return msgs
}

// unjoin returns the errors joined in err by errors.Join, or err alone.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// sentence is s as a sentence: its first letter upper-case, one full stop.
func sentence(s string) string {
	s = strings.TrimSuffix(s, ".")
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:] + "."
}

// warmRefused says why a warm transfer to t's destination is refused: the
// directory gives it `warm: false`.
func warmRefused(t Spec, dir *directory.Directory) (string, bool) {
	if t.Action != outcome.WarmTransfer || t.Destination == "" || dir == nil {
		return "", true
	}
	if d, ok := dir.Destination(t.Destination); ok && d.NoWarm {
		return fmt.Sprintf("%s (`%s`) takes cold transfers only: write `/transfer %s from …` without `warm`.",
			d.Label, d.Name, d.Name), false
	}
	return "", true
}
