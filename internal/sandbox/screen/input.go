package screen

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/slack-go/slack"
)

// Input: what a person does on the screen: fills in a form, types a slash
// command.

// Fill fills in the inputs of the opened form v with values, keyed by to,
// agent and role, as a supervisor would: to goes in the destination picker
// when it is one of its choices, else in the field for typed destinations;
// agent picks the Slack user when the form has a user picker and names
// someone, else it is typed; role chooses the role. It returns the form's
// state, what was filled (label: value) and notes on what could not be.
func (s Screen) Fill(v *slack.View, values map[string]string) (*slack.ViewState, []string, []string) {
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
		if id, name, isPerson := s.Names.UserNamed(agent); isPerson {
			if in := inputs["agent"]; in != nil {
				if sel, ok := in.Element.(*slack.SelectBlockElement); ok && sel.Type == slack.OptTypeUser {
					put(in, slack.BlockAction{SelectedUser: id}, "@"+name)
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
			if user, ok := s.Names.User(name); ok {
				name = "@" + user
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
			filled = append(filled, Label(in)+": "+shown[in.BlockID])
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

// optionText is an option as a form shows it: its text, or its value.
func optionText(o *slack.OptionBlockObject) string {
	if o.Text != nil && o.Text.Text != "" {
		return o.Text.Text
	}
	return o.Value
}

// plainText is s as a plain_text object.
func plainText(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, s, false, false)
}

// mentionRe finds @name in a typed command.
var mentionRe = regexp.MustCompile(`@[A-Za-z][A-Za-z0-9_.-]*`)

// SlashText is the text of a slash command typed on the screen as Slack
// delivers it with should_escape: &, < and > escaped, and @name of a known
// user as a mention <@U…|name>.
func (s Screen) SlashText(typed string) string {
	escaped := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(typed)
	return mentionRe.ReplaceAllStringFunc(escaped, func(m string) string {
		if id, name, ok := s.Names.UserNamed(m); ok {
			return "<@" + id + "|" + name + ">"
		}
		return m
	})
}
