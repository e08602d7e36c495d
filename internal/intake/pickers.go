package intake

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/slack-go/slack"

	"github.com/coldtransfer/coldtransfer/internal/directory"
	"github.com/coldtransfer/coldtransfer/internal/plivo"
)

// The form with the floor directory: pickers for the destination
// and the agent, and the options Slack asks for while a supervisor searches
// the destinations.

// The blocks the directory adds to the form.
const (
	blockToTyped = "to_typed"
	blockAgent   = "agent"
)

const (
	// maxStaticOptions is how many destinations the form lists itself;
	// past it, the supervisor searches them (external_select).
	maxStaticOptions = 100
	// maxSuggestions and maxSuggestionBytes bound the answer to one
	// search: Slack takes at most 100 options, and slack-go refuses an ack
	// of 20 480 bytes or more. The bytes are counted as encoded, so long
	// labels or escaped characters can never push an ack over.
	maxSuggestions     = 100
	maxSuggestionBytes = 15_000
	// maxOptionText is Slack's limit on an option's text and description.
	maxOptionText = 75
)

// ErrNoDestinations: the requester may neither pick nor type a destination.
var ErrNoDestinations = errors.New("no destination this requester may use")

// Form returns the form opened from origin: without a directory (dir nil)
// plain text inputs; with one, pickers of usable (the destinations the
// requester may use, at the indexes idx of dir.Destinations()), and a
// typed destination when mayType. ErrNoDestinations: there is nothing the
// requester may send a call to.
func Form(origin Origin, p Preset, dir *directory.Directory, usable []directory.Destination, idx []int, mayType bool) (slack.ModalViewRequest, error) {
	if dir == nil {
		return transferModal(origin, p)
	}
	if len(usable) == 0 && !mayType {
		return slack.ModalViewRequest{}, ErrNoDestinations
	}
	origin.Version, origin.Pick, origin.Typed = dir.Version(), len(usable) > 0, mayType

	agent := slack.NewInputBlock(blockAgent, plainText("Agent on the call"),
		plainText("The agent who hands the call over and leaves it, from the floor directory."),
		slack.NewOptionsSelectBlockElement(slack.OptTypeUser, plainText("Choose the agent"), blockAgent))
	agent.Optional = true
	if _, ok := dir.Agent(p.AgentUser); ok {
		agent.Element.(*slack.SelectBlockElement).InitialUser = p.AgentUser
	}
	typedAgent := textInput(blockTriggerSource, "…or the number / SIP address the agent is on", "+1 415 222 3333",
		"For an agent not in the directory. International form with + and country code, or sip:user@host.")
	typedAgent.Optional = true
	if p.AgentEndpoint != "" {
		typedAgent.Element.(*slack.PlainTextInputBlockElement).InitialValue = p.AgentEndpoint
	}
	blocks := []slack.Block{agent, typedAgent}

	if origin.Pick {
		var el *slack.SelectBlockElement
		if len(usable) <= maxStaticOptions {
			opts := make([]*slack.OptionBlockObject, len(usable))
			for i, d := range usable {
				opts[i] = slack.NewOptionBlockObject(d.Name, plainText(d.Label), plainText(clip(d.To.String(), maxOptionText)))
			}
			el = slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, plainText("Choose a destination"), BlockTo, opts...)
		} else {
			el = slack.NewOptionsSelectBlockElement(slack.OptTypeExternal, plainText("Search the destinations"), BlockTo)
			zero := 0
			el.MinQueryLength = &zero
			origin.Usable = encodeBits(idx, len(dir.Destinations()))
		}
		to := slack.NewInputBlock(BlockTo, plainText("Transfer to"), plainText("Who takes the call."), el)
		to.Optional = mayType
		blocks = append(blocks, to)
	}
	if mayType {
		label := "…or a number / SIP address"
		if !origin.Pick {
			label = "Transfer to (phone or SIP)"
		}
		typed := textInput(blockToTyped, label, "+1 415 222 5555",
			"International form with + and country code, or sip:user@host.")
		typed.Optional = origin.Pick
		blocks = append(blocks, typed)
	}
	role := slack.NewInputBlock(blockRole, plainText("Joins the call as"),
		plainText("Leave it empty for the destination's own default (agent for a typed number)."),
		slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, plainText("Default"), blockRole,
			roleOptions[plivo.RoleAgent], roleOptions[plivo.RoleCustomer]))
	role.Optional = true
	blocks = append(blocks, role, howBlock())
	blocks = withChannel(&origin, p, blocks)
	return modalView(origin, slack.Blocks{BlockSet: blocks})
}

// parseDirectorySubmission reads a submitted form with pickers: exactly
// one of to/to_typed, exactly one of agent/trigger_source, each error
// under the block concerned.
func parseDirectorySubmission(origin Origin, value func(block string) slack.BlockAction, dir *directory.Directory) (Spec, map[string]string) {
	if dir == nil {
		return Spec{}, map[string]string{blockAgent: outOfDateText}
	}
	errs := map[string]string{}
	t := Spec{Role: plivo.RoleAgent}
	name := value(BlockTo).SelectedOption.Value
	typed := strings.TrimSpace(value(blockToTyped).Value)
	toBlock := BlockTo // where an error about the destination goes
	switch {
	case name != "" && typed != "":
		errs[blockToTyped] = "Pick a destination above or type one here, not both."
	case name == "" && typed == "" && !origin.Pick:
		errs[blockToTyped] = "Give the number or SIP address to transfer the call to."
	case name == "" && typed == "" && origin.Typed:
		errs[BlockTo] = "Pick a destination, or type a number or SIP address below."
	case name == "" && typed == "":
		errs[BlockTo] = "Pick a destination."
	case name != "":
		d, ok := dir.Destination(name)
		if !ok {
			errs[BlockTo] = fmt.Sprintf("%q is no longer in the floor directory: pick another destination.", name)
			break
		}
		t.To, t.Role, t.Destination, t.Label = d.To, d.Role, d.Name, d.Label
	default:
		toBlock = blockToTyped
		ep, err := plivo.ParseEndpoint(typed)
		if err != nil {
			errs[blockToTyped] = sentence(err.Error())
			break
		}
		t.To = ep
	}

	agentID := value(blockAgent).SelectedUser
	typedAgent := strings.TrimSpace(value(blockTriggerSource).Value)
	switch {
	case agentID != "" && typedAgent != "":
		errs[blockTriggerSource] = "Pick the agent above or type their number here, not both."
	case agentID == "" && typedAgent == "":
		errs[blockAgent] = "Pick the agent on the call, or type the number or SIP address they are on below."
	case agentID != "":
		a, ok := dir.Agent(agentID)
		if !ok {
			errs[blockAgent] = "This person has no agent entry in the floor directory: type the number or SIP address they are on below."
			break
		}
		t.TriggerSource, t.Agent = a.Endpoint, a.Slack
	default:
		ep, err := plivo.ParseEndpoint(typedAgent)
		if err != nil {
			errs[blockTriggerSource] = sentence(err.Error())
			break
		}
		t.TriggerSource = ep
	}

	if len(errs) == 0 && t.To.Canonical() == t.TriggerSource.Canonical() {
		errs[toBlock] = fmt.Sprintf("%s is also the agent on the call: transfer the call to someone else.", t.To)
	}
	if v := value(blockRole).SelectedOption.Value; v != "" {
		r, err := plivo.ParseRole(v)
		if err != nil {
			errs[blockRole] = "Choose agent or customer, or leave it empty."
		}
		t.Role = r
	}
	t.Action = parseHow(value(blockHow))
	if p, ok := warmRefused(t, dir); !ok && len(errs) == 0 {
		errs[blockHow] = p
	}
	if len(errs) > 0 {
		return Spec{}, errs
	}
	return t, nil
}

// UsableFromOrigin tells which destinations of dir the requester of the
// form from origin may use, from the bits the form carries, when it was
// made from the same directory; ok is false otherwise, and the caller asks
// the Authorizer.
func UsableFromOrigin(dir *directory.Directory, origin Origin) (usable func(int, directory.Destination) bool, ok bool) {
	if origin.Version != dir.Version() {
		return nil, false
	}
	bits, ok := decodeBits(origin.Usable, len(dir.Destinations()))
	if !ok {
		return nil, false
	}
	return func(i int, _ directory.Destination) bool { return bits[i/8]&(1<<(i%8)) != 0 }, true
}

// Suggestions answers the destination picker's search: the destinations
// usable says the requester may use whose name or label contains query, in
// any case, in file order, bounded in count and bytes for an ack.
func Suggestions(dir *directory.Directory, query string, usable func(int, directory.Destination) bool) []*slack.OptionBlockObject {
	q := strings.ToLower(strings.TrimSpace(query))
	opts := []*slack.OptionBlockObject{}
	size := 0
	for i, d := range dir.Destinations() {
		if len(opts) == maxSuggestions {
			break
		}
		if q != "" && !strings.Contains(d.Name, q) && !strings.Contains(strings.ToLower(d.Label), q) {
			continue
		}
		if !usable(i, d) {
			continue
		}
		o := slack.NewOptionBlockObject(d.Name, plainText(d.Label), nil)
		encoded, err := json.Marshal(o)
		if err != nil || size+len(encoded)+1 > maxSuggestionBytes {
			break
		}
		size += len(encoded) + 1
		opts = append(opts, o)
	}
	return opts
}

// encodeBits sets bit i for each index of set, in n bits, as base64.
func encodeBits(set []int, n int) string {
	bits := make([]byte, (n+7)/8)
	for _, i := range set {
		bits[i/8] |= 1 << (i % 8)
	}
	return base64.RawURLEncoding.EncodeToString(bits)
}

func decodeBits(s string, n int) ([]byte, bool) {
	if s == "" {
		return nil, false
	}
	bits, err := base64.RawURLEncoding.DecodeString(s)
	return bits, err == nil && len(bits) == (n+7)/8
}

// clip cuts s to n characters, marking the cut.
func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
