package sandbox

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/slack-go/slack"
)

// formKeyRe finds the keys of `form to=… agent=… role=…`; a value runs to
// the next key, so numbers may contain spaces.
var formKeyRe = regexp.MustCompile(`(?i)(?:^|\s)(to|agent|from|role)=`)

// parseFormValues parses `to=… agent=… role=…` (from= is agent=) into a map
// keyed by to, agent and role. Keys may be left out; a value may be empty.
func parseFormValues(args string) (map[string]string, error) {
	values := map[string]string{}
	args = strings.TrimSpace(args)
	if args == "" {
		return values, nil
	}
	locs := formKeyRe.FindAllStringSubmatchIndex(args, -1)
	if len(locs) == 0 || strings.TrimSpace(args[:locs[0][0]]) != "" {
		return nil, fmt.Errorf("form takes to=… agent=… role=…, e.g. form to=+1 415 555 0100 agent=+1 415 222 3333 role=agent")
	}
	for i, loc := range locs {
		key := strings.ToLower(args[loc[2]:loc[3]])
		if key == "from" {
			key = "agent"
		}
		end := len(args)
		if i+1 < len(locs) {
			end = locs[i+1][0]
		}
		if _, dup := values[key]; dup {
			return nil, fmt.Errorf("%s= is given twice", key)
		}
		values[key] = strings.TrimSpace(args[loc[1]:end])
	}
	return values, nil
}

// fillForm fills the inputs of the opened form v with values, as a
// supervisor would: to= goes in the destination picker when it is one of
// its choices, else in the field for typed destinations; agent= picks the
// Slack user when the form has a user picker and names someone, else it is
// typed; role= chooses the role. It returns the form's state, what was
// filled (label: value) and notes on what could not be.
func fillForm(v *slack.View, values map[string]string) (*slack.ViewState, []string, []string) {
	inputs := map[string]*slack.InputBlock{}
	for _, bl := range v.Blocks.BlockSet {
		if in, ok := bl.(*slack.InputBlock); ok {
			inputs[in.BlockID] = in
		}
	}
	state := &slack.ViewState{Values: map[string]map[string]slack.BlockAction{}}
	var notes []string
	shown := map[string]string{} // block id → the value as the form shows it
	put := func(in *slack.InputBlock, a slack.BlockAction, text string) {
		state.Values[in.BlockID] = map[string]slack.BlockAction{actionID(in): a}
		shown[in.BlockID] = text
	}
	// typed puts text in the plain-text input id, and reports whether there
	// is one.
	typed := func(id, text string) bool {
		in := inputs[id]
		if in == nil {
			return false
		}
		if _, ok := in.Element.(*slack.PlainTextInputBlockElement); !ok {
			return false
		}
		put(in, slack.BlockAction{Value: text}, text)
		return true
	}

	if to, ok := values["to"]; ok && to != "" {
		placed := typed("to", to)
		if in := inputs["to"]; !placed && in != nil {
			if sel, ok := in.Element.(*slack.SelectBlockElement); ok {
				if opt := option(sel, to); opt != nil {
					put(in, slack.BlockAction{SelectedOption: *opt}, optionText(opt))
					placed = true
				}
			}
		}
		if !placed {
			placed = typed("to_typed", to)
		}
		if !placed {
			notes = append(notes, fmt.Sprintf("(%q is not among the form's destinations, and this form takes no typed one: left empty)", to))
		}
	}

	if agent, ok := values["agent"]; ok && agent != "" {
		placed := false
		if p, isPerson := personNamed(agent); isPerson {
			if in := inputs["agent"]; in != nil {
				if sel, ok := in.Element.(*slack.SelectBlockElement); ok && sel.Type == slack.OptTypeUser {
					put(in, slack.BlockAction{SelectedUser: p.id}, "@"+p.name)
					placed = true
				}
			}
		}
		if !placed && !typed("trigger_source", agent) {
			notes = append(notes, fmt.Sprintf("(this form has no field for the agent %q: left empty)", agent))
		}
	} else if in := inputs["agent"]; in != nil {
		// Left alone, a preset agent (a shortcut on their message) is
		// submitted as it is.
		if sel, ok := in.Element.(*slack.SelectBlockElement); ok && sel.InitialUser != "" {
			name := sel.InitialUser
			if p, ok := personByID(name); ok {
				name = "@" + p.name
			}
			put(in, slack.BlockAction{SelectedUser: sel.InitialUser}, name)
		}
	}

	if role, ok := values["role"]; ok && role != "" {
		in := inputs["role"]
		if in == nil {
			notes = append(notes, "(this form has no role field: role= left out)")
		} else {
			opt := &slack.OptionBlockObject{Value: strings.ToLower(role)}
			switch e := in.Element.(type) {
			case *slack.RadioButtonsBlockElement:
				opt = optionIn(e.Options, role, opt)
			case *slack.SelectBlockElement:
				opt = optionIn(e.Options, role, opt)
			}
			put(in, slack.BlockAction{SelectedOption: *opt}, optionText(opt))
		}
	} else if in := inputs["role"]; in != nil {
		// Left alone, a preselected choice is submitted as it is.
		if rb, ok := in.Element.(*slack.RadioButtonsBlockElement); ok && rb.InitialOption != nil {
			state.Values[in.BlockID] = map[string]slack.BlockAction{actionID(in): {SelectedOption: *rb.InitialOption}}
		}
	}
	var filled []string // in the form's order
	for _, bl := range v.Blocks.BlockSet {
		if in, ok := bl.(*slack.InputBlock); ok && shown[in.BlockID] != "" {
			filled = append(filled, labelOf(in)+": "+shown[in.BlockID])
		}
	}
	return state, filled, notes
}

// actionID is the action id of an input block's element (the block id when
// the element has none).
func actionID(in *slack.InputBlock) string {
	id := ""
	switch e := in.Element.(type) {
	case *slack.PlainTextInputBlockElement:
		id = e.ActionID
	case *slack.RadioButtonsBlockElement:
		id = e.ActionID
	case *slack.SelectBlockElement:
		id = e.ActionID
	}
	if id == "" {
		return in.BlockID
	}
	return id
}

// option returns the choice of sel whose value or text is s (any case);
// an external select takes anything, as if searched for.
func option(sel *slack.SelectBlockElement, s string) *slack.OptionBlockObject {
	if sel.Type == slack.OptTypeExternal {
		return &slack.OptionBlockObject{Value: s, Text: plainText(s)}
	}
	opts := sel.Options
	for _, g := range sel.OptionGroups {
		opts = append(opts, g.Options...)
	}
	return optionIn(opts, s, nil)
}

// optionIn returns the option among opts whose value or text is s, in any
// case, or def.
func optionIn(opts []*slack.OptionBlockObject, s string, def *slack.OptionBlockObject) *slack.OptionBlockObject {
	for _, o := range opts {
		if strings.EqualFold(o.Value, s) || (o.Text != nil && strings.EqualFold(o.Text.Text, s)) {
			return o
		}
	}
	return def
}

func optionText(o *slack.OptionBlockObject) string {
	if o.Text != nil && o.Text.Text != "" {
		return o.Text.Text
	}
	return o.Value
}

func plainText(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, s, false, false)
}
