package screen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// AuditLines renders one of the bot's JSON log lines, an audit line, as
// key=value pairs in the line's own order, without its timestamp, wrapped
// at width and never inside a quoted value.
func AuditLines(line []byte, width int) []string {
	return wrap(splitWords(auditText(line)), width)
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
