package screen

import (
	"encoding/json"
	"regexp"
	"strings"

	"github.com/slack-go/slack"
)

// Rendering: what Slack would show, as plain lines for a terminal.

// emoji are the shortcodes the bot uses, as a terminal shows them; others
// stay as :name:.
var emoji = map[string]string{
	"twisted_rightwards_arrows": "🔀",
	"hourglass_flowing_sand":    "⏳",
	"hourglass":                 "⌛",
	"white_check_mark":          "✅",
	"x":                         "❌",
	"warning":                   "⚠️",
	"no_entry":                  "⛔",
	"no_entry_sign":             "🚫",
	"test_tube":                 "🧪",
	"lock":                      "🔒",
	"telephone_receiver":        "📞",
	"busts_in_silhouette":       "👥",
	"bust_in_silhouette":        "👤",
	"information_source":        "ℹ️",
	"leftwards_arrow_with_hook": "↩️",
}

var (
	linkRe   = regexp.MustCompile(`<([^<>\n]+)>`)
	boldRe   = regexp.MustCompile(`\*([^*\n]+)\*`)
	emojiRe  = regexp.MustCompile(`:([a-z0-9_+-]+):`)
	entities = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&")
)

// Text renders Slack mrkdwn as the lines of plain text Slack shows:
// mentions by name, links by label, no bold or code markers, emoji as
// characters; empty lines at the ends are dropped.
func (s Screen) Text(mrkdwn string) []string {
	return lines(s.plain(mrkdwn))
}

// plain renders Slack mrkdwn as plain text: mentions by name, links by
// label, no bold or code markers, emoji as characters.
func (s Screen) plain(mrkdwn string) string {
	parts := strings.Split(mrkdwn, "`")
	var b strings.Builder
	for i, p := range parts {
		code := i%2 == 1
		if code && i == len(parts)-1 { // an unmatched backtick is text
			b.WriteString("`")
			code = false
		}
		if code {
			b.WriteString(entities.Replace(p))
			continue
		}
		p = linkRe.ReplaceAllStringFunc(p, func(m string) string { return s.linkText(m[1 : len(m)-1]) })
		p = boldRe.ReplaceAllString(p, "$1")
		p = emojiRe.ReplaceAllStringFunc(p, func(m string) string {
			if e, ok := emoji[m[1:len(m)-1]]; ok {
				return e
			}
			return m
		})
		b.WriteString(entities.Replace(p))
	}
	return b.String()
}

// linkText renders the inside of a Slack <…> link: a user or channel
// mention, a special mention, or a URL with an optional label.
func (s Screen) linkText(in string) string {
	target, label, hasLabel := strings.Cut(in, "|")
	switch {
	case strings.HasPrefix(target, "@"):
		if name, ok := s.Names.User(target[1:]); ok {
			return "@" + name
		}
		if hasLabel {
			return "@" + strings.TrimPrefix(label, "@")
		}
		return target
	case strings.HasPrefix(target, "#"):
		if name, ok := s.Names.Channel(target[1:]); ok {
			return "#" + name
		}
		if hasLabel {
			return "#" + label
		}
		return target
	case strings.HasPrefix(target, "!"):
		if hasLabel {
			return label
		}
		return "@" + strings.TrimPrefix(target, "!")
	case hasLabel:
		return label
	}
	return target
}

// lines splits rendered text into lines, dropping empty ones at the ends.
func lines(s string) []string {
	return strings.Split(strings.Trim(s, "\n"), "\n")
}

// Message renders a chat.postMessage, chat.update or chat.postEphemeral
// call as Slack shows it: its blocks when it has any, else its text.
func (s Screen) Message(c Call) []string {
	if raw := c.Arg("blocks"); raw != "" {
		var blocks slack.Blocks
		if json.Unmarshal([]byte(raw), &blocks) == nil {
			if ls := s.blockLines(blocks); len(ls) > 0 {
				return ls
			}
		}
	}
	return s.Text(c.Arg("text"))
}

// blockLines renders message blocks: sections (text, then their fields on
// one line), context lines, headers.
func (s Screen) blockLines(blocks slack.Blocks) []string {
	var out []string
	for _, bl := range blocks.BlockSet {
		switch b := bl.(type) {
		case *slack.SectionBlock:
			if b.Text != nil {
				out = append(out, s.Text(b.Text.Text)...)
			}
			var fields []string
			for _, f := range b.Fields {
				label, value, ok := strings.Cut(s.plain(f.Text), "\n")
				if ok {
					fields = append(fields, label+": "+strings.ReplaceAll(value, "\n", " "))
				} else {
					fields = append(fields, label)
				}
			}
			out = append(out, Pack(fields, " · ", TextWidth)...)
		case *slack.ContextBlock:
			var parts []string
			for _, el := range b.ContextElements.Elements {
				if t, ok := el.(*slack.TextBlockObject); ok {
					parts = append(parts, s.plain(t.Text))
				}
			}
			if len(parts) > 0 {
				out = append(out, strings.Join(parts, " "))
			}
		case *slack.HeaderBlock:
			if b.Text != nil {
				out = append(out, b.Text.Text)
			}
		case *slack.ActionBlock:
			if buttons := buttonLabels(b); buttons != "" {
				out = append(out, buttons+s.PressHint)
			}
		}
	}
	return out
}

// buttonLabels renders the buttons of an actions block: "[Abort transfer]
// [Transfer again]".
func buttonLabels(b *slack.ActionBlock) string {
	var buttons []string
	for _, el := range b.Elements.ElementSet {
		if bt, ok := el.(*slack.ButtonBlockElement); ok && bt.Text != nil {
			buttons = append(buttons, "["+bt.Text.Text+"]")
		}
	}
	return strings.Join(buttons, " ")
}

// Home renders a Home tab as its user sees it: its message blocks, and the
// buttons and dividers a message of the bot's has none of.
func (s Screen) Home(v slack.View) []string {
	var out []string
	for _, bl := range v.Blocks.BlockSet {
		switch b := bl.(type) {
		case *slack.ActionBlock:
			out = append(out, buttonLabels(b))
		case *slack.DividerBlock:
			out = append(out, strings.Repeat("─", 40))
		case *slack.HeaderBlock:
			if b.Text != nil {
				out = append(out, strings.ToUpper(b.Text.Text))
			}
		default:
			out = append(out, s.blockLines(slack.Blocks{BlockSet: []slack.Block{bl}})...)
		}
	}
	return out
}

// alternatives pairs the bot's form inputs of which exactly one is to be
// filled in: a picker and the typed field beside it. Slack can only mark
// each of them optional, which would read as if the agent or the
// destination could be left out.
var alternatives = map[string]string{"agent": "trigger_source", "to": "to_typed"}

// Form renders a modal as its fields show: the title and buttons, then one
// line per input with what it takes. A pair of alternatives is shown
// together, as one required choice.
func (s Screen) Form(v slack.View) []string {
	title := "form"
	if v.Title != nil {
		title = v.Title.Text
	}
	buttons := ""
	if v.Close != nil {
		buttons += " [" + v.Close.Text + "]"
	}
	if v.Submit != nil {
		buttons += " [" + v.Submit.Text + "]"
	}
	out := []string{title + buttons}
	inputs := map[string]*slack.InputBlock{}
	for _, bl := range v.Blocks.BlockSet {
		if in, ok := bl.(*slack.InputBlock); ok {
			inputs[in.BlockID] = in
		}
	}
	shown := map[string]bool{}
	for _, bl := range v.Blocks.BlockSet {
		in, ok := bl.(*slack.InputBlock)
		if !ok || shown[in.BlockID] {
			continue
		}
		line := "• " + s.inputText(in)
		if other := inputs[alternatives[in.BlockID]]; other != nil && in.Optional && other.Optional {
			shown[other.BlockID] = true
			out = append(out, line, "  "+s.inputText(other), "  (one of these two is required, not both)")
			continue
		}
		if in.Optional {
			line += " (optional)"
		}
		out = append(out, line)
	}
	return out
}

// inputText is an input's label and what it takes.
func (s Screen) inputText(in *slack.InputBlock) string {
	return Label(in) + ": " + s.elementText(in.Element)
}

// Label is an input's label as a form shows it: its block id when it has
// none.
func Label(in *slack.InputBlock) string {
	if in.Label != nil && in.Label.Text != "" {
		return in.Label.Text
	}
	return in.BlockID
}

// elementText says what an input element takes.
func (s Screen) elementText(el slack.BlockElement) string {
	switch e := el.(type) {
	case *slack.PlainTextInputBlockElement:
		s := "text"
		if e.InitialValue != "" {
			return s + ", filled in: " + e.InitialValue
		}
		if e.Placeholder != nil && e.Placeholder.Text != "" {
			s += ", e.g. " + e.Placeholder.Text
		}
		return s
	case *slack.RadioButtonsBlockElement:
		return choices(e.Options, e.InitialOption)
	case *slack.SelectBlockElement:
		switch e.Type {
		case slack.OptTypeUser:
			if name, ok := s.Names.User(e.InitialUser); ok {
				return "pick a Slack user (◉ @" + name + ")"
			}
			return "pick a Slack user"
		case slack.OptTypeConversations:
			if e.InitialConversation != "" {
				return "pick a channel (◉ " + s.linkText("#"+e.InitialConversation) + ")"
			}
			return "pick a channel"
		case slack.OptTypeExternal:
			return "pick one, searched as you type"
		}
		opts := e.Options
		for _, g := range e.OptionGroups {
			opts = append(opts, g.Options...)
		}
		return "pick one of " + choices(opts, e.InitialOption)
	}
	return "(" + string(el.ElementType()) + ")"
}

// choices renders options as radio buttons would show them: ◉ for the one
// preselected, ○ for the others, each as "text" or "value (text)".
func choices(opts []*slack.OptionBlockObject, initial *slack.OptionBlockObject) string {
	var parts []string
	for _, o := range opts {
		mark := "○ "
		if initial != nil && initial.Value == o.Value {
			mark = "◉ "
		}
		text := o.Value
		if o.Text != nil && o.Text.Text != "" {
			if strings.EqualFold(o.Text.Text, o.Value) {
				text = o.Text.Text
			} else {
				text = o.Value + " (" + o.Text.Text + ")"
			}
		}
		parts = append(parts, mark+text)
	}
	return strings.Join(parts, "  ")
}
