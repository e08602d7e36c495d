package sandbox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

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

// plain renders Slack mrkdwn as plain text: mentions by name, links by
// label, no bold or code markers, emoji as characters.
func plain(s string) string {
	parts := strings.Split(s, "`")
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
		p = linkRe.ReplaceAllStringFunc(p, func(m string) string { return linkText(m[1 : len(m)-1]) })
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
func linkText(in string) string {
	target, label, hasLabel := strings.Cut(in, "|")
	switch {
	case strings.HasPrefix(target, "@"):
		if p, ok := personByID(target[1:]); ok {
			return "@" + p.name
		}
		if hasLabel {
			return "@" + strings.TrimPrefix(label, "@")
		}
		return target
	case strings.HasPrefix(target, "#"):
		if target[1:] == channelID {
			return "#" + channelName
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

// messageLines renders a chat.postMessage / chat.update / chat.postEphemeral
// call: its blocks when it has any, else its text.
func messageLines(c callArgs) []string {
	if raw := c.Arg("blocks"); raw != "" {
		var blocks slack.Blocks
		if json.Unmarshal([]byte(raw), &blocks) == nil {
			if ls := blockLines(blocks); len(ls) > 0 {
				return ls
			}
		}
	}
	return lines(plain(c.Arg("text")))
}

// callArgs is what rendering needs of a recorded call.
type callArgs interface{ Arg(string) string }

// blockLines renders message blocks: sections (text, then their fields on
// one line), context lines, headers.
func blockLines(blocks slack.Blocks) []string {
	var out []string
	for _, bl := range blocks.BlockSet {
		switch b := bl.(type) {
		case *slack.SectionBlock:
			if b.Text != nil {
				out = append(out, lines(plain(b.Text.Text))...)
			}
			var fields []string
			for _, f := range b.Fields {
				label, value, ok := strings.Cut(plain(f.Text), "\n")
				if ok {
					fields = append(fields, label+": "+strings.ReplaceAll(value, "\n", " "))
				} else {
					fields = append(fields, label)
				}
			}
			out = append(out, pack(fields, " · ", textWidth)...)
		case *slack.ContextBlock:
			var parts []string
			for _, el := range b.ContextElements.Elements {
				if t, ok := el.(*slack.TextBlockObject); ok {
					parts = append(parts, plain(t.Text))
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
				out = append(out, buttons+"   (press abort / press again)")
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

// homeLines renders a Home tab as the user sees it: its message blocks,
// and the buttons and dividers a message of the bot's has none of.
func homeLines(v slack.View) []string {
	var out []string
	for _, bl := range v.Blocks.BlockSet {
		switch b := bl.(type) {
		case *slack.ActionBlock:
			var buttons []string
			for _, el := range b.Elements.ElementSet {
				if bt, ok := el.(*slack.ButtonBlockElement); ok && bt.Text != nil {
					buttons = append(buttons, "["+bt.Text.Text+"]")
				}
			}
			out = append(out, strings.Join(buttons, " "))
		case *slack.DividerBlock:
			out = append(out, strings.Repeat("─", 40))
		case *slack.HeaderBlock:
			if b.Text != nil {
				out = append(out, strings.ToUpper(b.Text.Text))
			}
		default:
			out = append(out, blockLines(slack.Blocks{BlockSet: []slack.Block{bl}})...)
		}
	}
	return out
}

// pack joins items with sep into lines of at most width characters, never
// breaking an item.
func pack(items []string, sep string, width int) []string {
	var out []string
	cur := ""
	for _, it := range items {
		if cur != "" && utf8.RuneCountInString(cur+sep+it) > width {
			out = append(out, cur)
			cur = ""
		}
		if cur != "" {
			cur += sep
		}
		cur += it
	}
	if cur != "" {
		out = append(out, cur)
	}
	return out
}

// alternatives pairs the bot's form inputs of which exactly one is to be
// filled in: a picker and the typed field beside it. Slack can only mark
// each of them optional, which would read as if the agent or the
// destination could be left out.
var alternatives = map[string]string{"agent": "trigger_source", "to": "to_typed"}

// formLines renders a modal as its fields show: the title and buttons,
// then one line per input with what it takes. A pair of alternatives is
// shown together, as one required choice.
func formLines(v slack.View) []string {
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
		line := "• " + inputText(in)
		if other := inputs[alternatives[in.BlockID]]; other != nil && in.Optional && other.Optional {
			shown[other.BlockID] = true
			out = append(out, line, "  "+inputText(other), "  (one of these two is required, not both)")
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
func inputText(in *slack.InputBlock) string {
	return labelOf(in) + ": " + elementText(in.Element)
}

// elementText says what an input element takes.
func elementText(el slack.BlockElement) string {
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
			if p, ok := personByID(e.InitialUser); ok {
				return "pick a Slack user (◉ @" + p.name + ")"
			}
			return "pick a Slack user"
		case slack.OptTypeConversations:
			if e.InitialConversation != "" {
				return "pick a channel (◉ " + linkText("#"+e.InitialConversation) + ")"
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

// auditText renders one JSON log line as key=value pairs in the line's own
// order, without its timestamp.
func auditText(line []byte) string {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return string(line)
	}
	var parts []string
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return string(line)
		}
		key, _ := t.(string)
		var v any
		if err := dec.Decode(&v); err != nil {
			return string(line)
		}
		if key == "ts" {
			continue
		}
		s := fmt.Sprint(v)
		if str, ok := v.(string); ok && (str == "" || strings.ContainsAny(str, " \"=")) {
			s = fmt.Sprintf("%q", str)
		}
		parts = append(parts, key+"="+s)
	}
	return strings.Join(parts, " ")
}

// wrap joins words into lines of at most width characters, never breaking a
// word.
func wrap(words []string, width int) []string {
	var out []string
	var cur strings.Builder
	n := 0 // characters in cur
	for _, word := range words {
		w := utf8.RuneCountInString(word)
		if n > 0 && n+1+w > width {
			out = append(out, cur.String())
			cur.Reset()
			n = 0
		}
		if n > 0 {
			cur.WriteByte(' ')
			n++
		}
		cur.WriteString(word)
		n += w
	}
	if n > 0 || len(out) == 0 {
		out = append(out, cur.String())
	}
	return out
}

// wrapProse wraps a line of text at width, indenting the lines it adds by
// the line's own indentation and two spaces.
func wrapProse(line string, width int) []string {
	if utf8.RuneCountInString(line) <= width {
		return []string{line}
	}
	indent := line[:len(line)-len(strings.TrimLeft(line, " "))]
	out := wrap(strings.Fields(line), width-len(indent))
	for i := range out {
		if i == 0 {
			out[i] = indent + out[i]
		} else {
			out[i] = indent + "  " + out[i]
		}
	}
	return out
}

// splitWords splits s on spaces that are not inside double quotes.
func splitWords(s string) []string {
	var words []string
	start, quoted := 0, false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if quoted {
				i++
			}
		case '"':
			quoted = !quoted
		case ' ':
			if !quoted {
				if i > start {
					words = append(words, s[start:i])
				}
				start = i + 1
			}
		}
	}
	if start < len(s) {
		words = append(words, s[start:])
	}
	return words
}
