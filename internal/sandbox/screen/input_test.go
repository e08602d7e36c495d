package screen

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/slack-go/slack"
)

// directoryForm is the form as the bot opens it with a directory:
// pickers for the destination and the agent, typed fields beside them.
func directoryForm() *slack.View {
	dest := slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, nil, "to",
		slack.NewOptionBlockObject("billing", plainText("Billing queue"), nil),
		slack.NewOptionBlockObject("sales", plainText("Sales"), nil))
	toTyped := slack.NewPlainTextInputBlockElement(nil, "to_typed")
	agent := slack.NewOptionsSelectBlockElement(slack.OptTypeUser, nil, "agent")
	source := slack.NewPlainTextInputBlockElement(nil, "trigger_source")
	role := slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, nil, "role",
		slack.NewOptionBlockObject("agent", plainText("Agent"), nil),
		slack.NewOptionBlockObject("customer", plainText("Customer"), nil))
	optional := func(b *slack.InputBlock) *slack.InputBlock { b.Optional = true; return b }
	return &slack.View{
		Title:  plainText("Cold transfer"),
		Submit: plainText("Transfer"),
		Blocks: slack.Blocks{BlockSet: []slack.Block{
			slack.NewInputBlock("to", plainText("Transfer to"), nil, dest),
			optional(slack.NewInputBlock("to_typed", plainText("…or a number / SIP address"), nil, toTyped)),
			optional(slack.NewInputBlock("agent", plainText("Agent on the call"), nil, agent)),
			optional(slack.NewInputBlock("trigger_source", plainText("…or the number / SIP address the agent is on"), nil, source)),
			optional(slack.NewInputBlock("role", plainText("Joins the call as"), nil, role)),
		}},
	}
}

// typedForm is the form without a directory, as the bot opens it today.
func typedForm() *slack.View {
	agent := slack.NewOptionBlockObject("agent", plainText("Agent"), nil)
	return &slack.View{
		Blocks: slack.Blocks{BlockSet: []slack.Block{
			slack.NewInputBlock("trigger_source", plainText("Agent on the call (phone or SIP)"), nil, slack.NewPlainTextInputBlockElement(nil, "trigger_source")),
			slack.NewInputBlock("to", plainText("Transfer to (phone or SIP)"), nil, slack.NewPlainTextInputBlockElement(nil, "to")),
			slack.NewInputBlock("role", plainText("Joins the call as"), nil, &slack.RadioButtonsBlockElement{
				Type: slack.METRadioButtons, ActionID: "role", InitialOption: agent,
				Options: []*slack.OptionBlockObject{agent, slack.NewOptionBlockObject("customer", plainText("Customer"), nil)},
			}),
		}},
	}
}

func TestFillForm(t *testing.T) {
	tests := []struct {
		name       string
		view       *slack.View
		values     map[string]string
		wantState  map[string]slack.BlockAction // by block id (= action id)
		wantFilled []string
		wantNotes  int
	}{
		{
			name:   "typed form: text fields, role chosen",
			view:   typedForm(),
			values: map[string]string{"to": "+1 415 555 0100", "agent": "+1 415 222 3333", "role": "Customer"},
			wantState: map[string]slack.BlockAction{
				"to":             {Value: "+1 415 555 0100"},
				"trigger_source": {Value: "+1 415 222 3333"},
				"role":           {SelectedOption: *slack.NewOptionBlockObject("customer", plainText("Customer"), nil)},
			},
			wantFilled: []string{"Agent on the call (phone or SIP): +1 415 222 3333", "Transfer to (phone or SIP): +1 415 555 0100", "Joins the call as: Customer"},
		},
		{
			name:   "typed form: the preselected role is submitted when none is given",
			view:   typedForm(),
			values: map[string]string{"to": "+1 415 555 0100"},
			wantState: map[string]slack.BlockAction{
				"to":   {Value: "+1 415 555 0100"},
				"role": {SelectedOption: *slack.NewOptionBlockObject("agent", plainText("Agent"), nil)},
			},
			wantFilled: []string{"Transfer to (phone or SIP): +1 415 555 0100"},
		},
		{
			name:   "directory form: a name is picked, a person is picked",
			view:   directoryForm(),
			values: map[string]string{"to": "Billing", "agent": "@alice"},
			wantState: map[string]slack.BlockAction{
				"to":    {SelectedOption: *slack.NewOptionBlockObject("billing", plainText("Billing queue"), nil)},
				"agent": {SelectedUser: "U0ALICE"},
			},
			wantFilled: []string{"Transfer to: Billing queue", "Agent on the call: @alice"},
		},
		{
			name:   "directory form: a number is typed in the fields beside the pickers",
			view:   directoryForm(),
			values: map[string]string{"to": "+1 415 555 0199", "agent": "+1 415 222 3333", "role": "customer"},
			wantState: map[string]slack.BlockAction{
				"to_typed":       {Value: "+1 415 555 0199"},
				"trigger_source": {Value: "+1 415 222 3333"},
				"role":           {SelectedOption: *slack.NewOptionBlockObject("customer", plainText("Customer"), nil)},
			},
			wantFilled: []string{"…or a number / SIP address: +1 415 555 0199", "…or the number / SIP address the agent is on: +1 415 222 3333", "Joins the call as: Customer"},
		},
		{
			name:      "a form with no place for a value says so",
			view:      &slack.View{},
			values:    map[string]string{"to": "billing", "agent": "@bob", "role": "agent"},
			wantState: map[string]slack.BlockAction{},
			wantNotes: 3,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			state, filled, notes := testScreen.Fill(tt.view, tt.values)
			got := map[string]slack.BlockAction{}
			for block, actions := range state.Values {
				if len(actions) != 1 {
					t.Errorf("block %s has %d actions, want 1", block, len(actions))
				}
				for action, a := range actions {
					if action != block {
						t.Errorf("block %s: action id %s, want the block id", block, action)
					}
					got[block] = a
				}
			}
			gotJSON, _ := json.Marshal(got)
			wantJSON, _ := json.Marshal(tt.wantState)
			if string(gotJSON) != string(wantJSON) {
				t.Errorf("state\n%s\nwant\n%s", gotJSON, wantJSON)
			}
			if !slices.Equal(filled, tt.wantFilled) {
				t.Errorf("filled %q, want %q", filled, tt.wantFilled)
			}
			if len(notes) != tt.wantNotes {
				t.Errorf("notes %q, want %d", notes, tt.wantNotes)
			}
		})
	}
}

// A form opened by the shortcut starts with the message's author as the
// agent; the form shows it, and submits it unless another is given. A form
// opened from the Home tab asks for the channel, starting at one.
func TestPresetForms(t *testing.T) {
	v := directoryForm()
	for _, bl := range v.Blocks.BlockSet {
		if in, ok := bl.(*slack.InputBlock); ok && in.BlockID == "agent" {
			in.Element.(*slack.SelectBlockElement).InitialUser = "U0BOB"
		}
	}
	channel := slack.NewOptionsSelectBlockElement(slack.OptTypeConversations, nil, "channel")
	channel.InitialConversation = "C0FLOOR"
	v.Blocks.BlockSet = append([]slack.Block{slack.NewInputBlock("channel", plainText("Announce in"), nil, channel)}, v.Blocks.BlockSet...)

	lines := testScreen.Form(*v)
	for _, want := range []string{"• Announce in: pick a channel (◉ #floor)", "• Agent on the call: pick a Slack user (◉ @bob)"} {
		if !slices.Contains(lines, want) {
			t.Errorf("formLines lacks %q:\n%s", want, strings.Join(lines, "\n"))
		}
	}

	state, filled, _ := testScreen.Fill(v, map[string]string{"to": "billing"})
	if got := state.Values["agent"]["agent"].SelectedUser; got != "U0BOB" {
		t.Errorf("the preset agent is submitted as %q, want U0BOB", got)
	}
	if !slices.Contains(filled, "Agent on the call: @bob") {
		t.Errorf("filled %q does not show the preset agent", filled)
	}
	state, _, _ = testScreen.Fill(v, map[string]string{"to": "billing", "agent": "@alice"})
	if got := state.Values["agent"]["agent"].SelectedUser; got != "U0ALICE" {
		t.Errorf("the agent given is submitted as %q, want U0ALICE", got)
	}
}

func TestSlashText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"billing from @alice", "billing from <@U0ALICE|alice>"},
		{"+1 415 from @Bob as customer", "+1 415 from <@U0BOB|bob> as customer"},
		{"x from @nobody", "x from @nobody"},
		{"a&b <c>", "a&amp;b &lt;c&gt;"},
	}
	for _, tt := range tests {
		if got := testScreen.SlashText(tt.in); got != tt.want {
			t.Errorf("SlashText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
