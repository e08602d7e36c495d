package intake

import (
	"encoding/json"
	"fmt"

	"github.com/slack-go/slack"

	"github.com/coldtransfer/coldtransfer/internal/directory"
	"github.com/coldtransfer/coldtransfer/internal/plivo"
)

// The modal's ids. Each input block's id is also its action id.
const (
	CallbackID         = "cold_transfer"
	blockTriggerSource = "trigger_source"
	BlockTo            = "to"
	blockRole          = "role"

	// maxPrivateMetadata is Slack's limit on a view's private_metadata.
	maxPrivateMetadata = 3000
)

// Origin is what a submission needs to know about where the form was
// opened; it travels in the view's private_metadata.
type Origin struct {
	ChannelID   string `json:"c"`
	ResponseURL string `json:"r"`

	// With the floor directory (pickers.go): the directory's version, which
	// blocks the form has, and for a searched picker the destinations this
	// requester may use, one bit each.
	Version string `json:"v,omitempty"`
	Pick    bool   `json:"p,omitempty"` // block "to" picks a destination
	Typed   bool   `json:"t,omitempty"` // block "to_typed" is there
	Usable  string `json:"u,omitempty"`
}

// modalBlocks are the same for every form, so they are built once.
var modalBlocks = slack.Blocks{BlockSet: []slack.Block{
	textInput(blockTriggerSource, "Agent on the call (phone or SIP)", "+1 415 222 3333",
		"The member who hands the call over and leaves it. International form with + and country code, or sip:user@host."),
	textInput(BlockTo, "Transfer to (phone or SIP)", "+1 415 222 5555",
		"Who takes the call. International form with + and country code, or sip:user@host."),
	slack.NewInputBlock(blockRole, plainText("Joins the call as"), nil,
		&slack.RadioButtonsBlockElement{
			Type:          slack.METRadioButtons,
			ActionID:      blockRole,
			Options:       []*slack.OptionBlockObject{roleOptions[plivo.RoleAgent], roleOptions[plivo.RoleCustomer]},
			InitialOption: roleOptions[plivo.RoleAgent],
		}),
}}

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

// transferModal returns the form opened by a bare /transfer.
func transferModal(origin Origin) (slack.ModalViewRequest, error) {
	return modalView(origin, modalBlocks)
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
	if err := json.Unmarshal([]byte(view.PrivateMetadata), &origin); err != nil || origin.ChannelID == "" {
		return origin, Spec{}, map[string]string{BlockTo: outOfDateText}
	}
	value := func(block string) slack.BlockAction {
		if view.State == nil {
			return slack.BlockAction{}
		}
		return view.State.Values[block][block]
	}
	if origin.Version != "" {
		t, fieldErrs := parseDirectorySubmission(origin, value, dir)
		return origin, t, fieldErrs
	}

	fieldErrs := map[string]string{}
	role, err := plivo.ParseRole(value(blockRole).SelectedOption.Value)
	if err != nil {
		fieldErrs[blockRole] = "Choose agent or customer."
	}
	to, triggerSource, err := plivo.ParseTransfer(value(BlockTo).Value, value(blockTriggerSource).Value)
	for field, msg := range fieldMessages(err) {
		fieldErrs[field] = capitalize(msg) + "."
	}
	if len(fieldErrs) > 0 {
		return origin, Spec{}, fieldErrs
	}
	return origin, Spec{To: to, TriggerSource: triggerSource, Role: role}, nil
}

const outOfDateText = "This form is out of date: close it and type /transfer again."
