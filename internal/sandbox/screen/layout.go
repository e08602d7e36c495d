package screen

import (
	"strings"
	"unicode/utf8"
)

// Layout: lines of text cut to a terminal's width.

// Pack joins items with sep into lines of at most width characters, never
// breaking an item.
func Pack(items []string, sep string, width int) []string {
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

// WrapProse wraps a line of text at width, indenting the lines it adds by
// the line's own indentation and two spaces.
func WrapProse(line string, width int) []string {
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
