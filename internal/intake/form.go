package intake

import (
	"encoding/json"
	"fmt"

	"github.com/slack-go/slack"

	"github.com/coldtransfer/coldtransfer/internal/directory"
	"github.com/coldtransfer/coldtransfer/internal/outcome"
	"github.com/coldtransfer/coldtransfer/internal/plivo"
)

// The modal's ids. Each input block's id is also its action id.
const (
	CallbackID         = "cold_transfer"
	blockTriggerSource = "trigger_source"
	BlockTo            = "to"
	blockRole          = "role"
	blockHow           = "how"
	blockChannel       = "channel"

	// maxPrivateMetadata is Slack's limit on a view's private_metadata.
	maxPrivateMetadata = 3000
)

// Origin is what a submission needs to know about where the form was
// opened; it travels in the view's private_metadata.
type Origin struct {
	ChannelID   string `json:"c"`
	ResponseURL string `json:"r"`
	// PickChannel: the form was opened where there is no channel (the Home
	// tab), so it asks for one (block "channel"), and ChannelID is read
	// from it on submission.
	PickChannel bool `json:"k,omitempty"`
	// Permalink links the message a shortcut was used on: the
	// announcement answers it.
	Permalink string `json:"l,omitempty"`

	// With the floor directory (pickers.go): the directory's version, which
	// blocks the form has, and for a searched picker the destinations this
	// requester may use, one bit each.
	Version string `json:"v,omitempty"`
	Pick    bool   `json:"p,omitempty"` // block "to" picks a destination
	Typed   bool   `json:"t,omitempty"` // block "to_typed" is there
	Usable  string `json:"u,omitempty"`
}

// howOptions are the kinds of transfer, in the form's words.
var howOptions = map[outcome.Action]*slack.OptionBlockObject{
	outcome.ColdTransfer: slack.NewOptionBlockObject("cold", plainText("Cold: the agent leaves at once"), nil),
	outcome.WarmTransfer: slack.NewOptionBlockObject("warm", plainText("Warm: the agent talks to them first"), nil),
}

// howBlock is the choice between a cold and a warm transfer, cold first.
func howBlock() *slack.InputBlock {
	b := slack.NewInputBlock(blockHow, plainText("How"), nil, &slack.RadioButtonsBlockElement{
		Type:          slack.METRadioButtons,
		ActionID:      blockHow,
		Options:       []*slack.OptionBlockObject{howOptions[outcome.ColdTransfer], howOptions[outcome.WarmTransfer]},
		InitialOption: howOptions[outcome.ColdTransfer],
	})
	b.Optional = true
	return b
}

// parseHow reads the How choice; a form without it (opened before there
// was one) is a cold transfer.
func parseHow(v slack.BlockAction) outcome.Action {
	if v.SelectedOption.Value == "warm" {
		return outcome.WarmTransfer
	}
	return outcome.ColdTransfer
}

// Preset is what a form opens with already filled in: the agent on the
// call, as a Slack user with an agent entry (a message shortcut on their
// message) or as the address the call is on ("Transfer again"); and for a
// form that asks for its channel, the channel it starts with.
type Preset struct {
	AgentUser     string
	AgentEndpoint string
	Channel       string
}

// channelBlock asks for the channel where the transfer is announced, for a
// form opened where there is none (the Home tab): Slack's
// default_to_current_conversation has no conversation to default to there.
func channelBlock(initial string) *slack.InputBlock {
	el := slack.NewOptionsSelectBlockElement(slack.OptTypeConversations, plainText("Choose a channel"), blockChannel)
	el.InitialConversation = initial
	el.Filter = &slack.SelectBlockElementFilter{Include: []string{"public", "private"}, ExcludeBotUsers: true}
	return slack.NewInputBlock(blockChannel, plainText("Announce in"),
		plainText("The channel where the transfer is announced and its thread kept."), el)
}

// withChannel puts the channel picker first when origin has no channel,
// and marks origin so that the submission reads it.
func withChannel(origin *Origin, p Preset, blocks []slack.Block) []slack.Block {
	if origin.ChannelID != "" {
		return blocks
	}
	origin.PickChannel = true
	return append([]slack.Block{channelBlock(p.Channel)}, blocks...)
}

// modalBlocks are the form without a directory, with p filled in.
func modalBlocks(p Preset) []slack.Block {
	agent := textInput(blockTriggerSource, "Agent on the call (phone or SIP)", "+1 415 222 3333",
		"The member who hands the call over and leaves it. International form with + and country code, or sip:user@host.")
	if p.AgentEndpoint != "" {
		agent.Element.(*slack.PlainTextInputBlockElement).InitialValue = p.AgentEndpoint
	}
	return []slack.Block{
		agent,
		textInput(BlockTo, "Transfer to (phone or SIP)", "+1 415 222 5555",
			"Who takes the call. International form with + and country code, or sip:user@host."),
		slack.NewInputBlock(blockRole, plainText("Joins the call as"), nil,
			&slack.RadioButtonsBlockElement{
				Type:          slack.METRadioButtons,
				ActionID:      blockRole,
				Options:       []*slack.OptionBlockObject{roleOptions[plivo.RoleAgent], roleOptions[plivo.RoleCustomer]},
				InitialOption: roleOptions[plivo.RoleAgent],
			}),
		howBlock(),
	}
}

var roleOptions = map[plivo.Role]*slack.OptionBlockObject{
	plivo.RoleAgent:    slack.NewOptionBlockObject(string(plivo.RoleAgent), plainText("Agent"), nil),
	plivo.RoleCustomer: slack.NewOptionBlockObject(string(plivo.RoleCustomer), plainText("Customer"), nil),
}

func textInput(id, label, placeholder, hint string) *slack.InputBlock {
	el := slack.NewPlainTextInputBlockElement(plainText(placeholder), id)
	el.MaxLength = 256
	return slack.NewInputBlock(id, plainText(label), plainText(hint), el)
}

func plainText(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, s, false, false)
}

// transferModal returns the form without a directory.
func transferModal(origin Origin, p Preset) (slack.ModalViewRequest, error) {
	blocks := withChannel(&origin, p, modalBlocks(p))
	return modalView(origin, slack.Blocks{BlockSet: blocks})
}

// modalView is the form with blocks, carrying origin.
func modalView(origin Origin, blocks slack.Blocks) (slack.ModalViewRequest, error) {
	meta, err := json.Marshal(origin)
	if err != nil {
		return slack.ModalViewRequest{}, fmt.Errorf("encode private_metadata: %w", err)
	}
	if len(meta) > maxPrivateMetadata {
		return slack.ModalViewRequest{}, fmt.Errorf("private_metadata is %d bytes, over Slack's %d", len(meta), maxPrivateMetadata)
	}
	return slack.ModalViewRequest{
		Type:            slack.VTModal,
		CallbackID:      CallbackID,
		Title:           plainText("Cold transfer"),
		Submit:          plainText("Transfer"),
		Close:           plainText("Cancel"),
		Blocks:          blocks,
		PrivateMetadata: string(meta),
	}, nil
}

// ParseSubmission reads a submitted form; a form with pickers is read
// against the floor directory dir. On invalid input it returns the
// messages to show under each field, keyed by input block id.
func ParseSubmission(view slack.View, dir *directory.Directory) (Origin, Spec, map[string]string) {
	var origin Origin
	if err := json.Unmarshal([]byte(view.PrivateMetadata), &origin); err != nil || (origin.ChannelID == "" && !origin.PickChannel) {
		return origin, Spec{}, map[string]string{BlockTo: outOfDateText}
	}
	value := func(block string) slack.BlockAction {
		if view.State == nil {
			return slack.BlockAction{}
		}
		return view.State.Values[block][block]
	}
	channelErr := ""
	if origin.PickChannel {
		origin.ChannelID = value(blockChannel).SelectedConversation
		if origin.ChannelID == "" {
			channelErr = "Choose the channel where the transfer is announced."
		}
	}
	if origin.Version != "" {
		t, fieldErrs := parseDirectorySubmission(origin, value, dir)
		if channelErr != "" {
			fieldErrs = withError(fieldErrs, blockChannel, channelErr)
			t = Spec{}
		}
		return origin, t, fieldErrs
	}

	fieldErrs := map[string]string{}
	if channelErr != "" {
		fieldErrs[blockChannel] = channelErr
	}
	role, err := plivo.ParseRole(value(blockRole).SelectedOption.Value)
	if err != nil {
		fieldErrs[blockRole] = "Choose agent or customer."
	}
	to, triggerSource, err := plivo.ParseTransfer(value(BlockTo).Value, value(blockTriggerSource).Value)
	for field, msg := range fieldMessages(err) {
		fieldErrs[field] = sentence(msg)
	}
	if len(fieldErrs) > 0 {
		return origin, Spec{}, fieldErrs
	}
	return origin, Spec{To: to, TriggerSource: triggerSource, Role: role, Action: parseHow(value(blockHow))}, nil
}

// withError adds msg under block to errs, which may be nil.
func withError(errs map[string]string, block, msg string) map[string]string {
	if errs == nil {
		errs = map[string]string{}
	}
	errs[block] = msg
	return errs
}

const outOfDateText = "This form is out of date: close it and type /transfer again."
