package plivo

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// NumberFormat is how phone numbers are written in requests to Plivo. It must
// match how the members joined the call, or Plivo will not find them.
type NumberFormat string

// The number formats Plivo accepts.
const (
	FormatE164   NumberFormat = "e164"   // +14152225555
	FormatDigits NumberFormat = "digits" // 14152225555
)

// ParseNumberFormat returns the NumberFormat named s, which must be exactly
// "e164" or "digits".
func ParseNumberFormat(s string) (NumberFormat, error) {
	switch f := NumberFormat(s); f {
	case FormatE164, FormatDigits:
		return f, nil
	}
	return "", fmt.Errorf("number format must be %q or %q, not %s", FormatE164, FormatDigits, quote(s))
}

// Role is the role field of a Multi-Party Call action: agent or customer.
type Role string

// The roles of a Multi-Party Call member.
const (
	RoleAgent    Role = "agent"
	RoleCustomer Role = "customer"
)

// ParseRole returns the Role named s, ignoring case and surrounding space.
func ParseRole(s string) (Role, error) {
	switch r := Role(strings.ToLower(strings.TrimSpace(s))); r {
	case RoleAgent, RoleCustomer:
		return r, nil
	}
	return "", fmt.Errorf("role must be %q or %q, not %s", RoleAgent, RoleCustomer, quote(strings.TrimSpace(s)))
}

func (r Role) valid() bool { return r == RoleAgent || r == RoleCustomer }

// Endpoint is a normalised call member address: an international phone
// number or a SIP URI. The zero value is the empty endpoint, which is never
// the result of a successful parse. Endpoints are comparable with ==, which
// compares how the address was written; two spellings of one address are
// equal only in their Canonical forms.
type Endpoint struct {
	addr string // normalised: "+14152225555" or "sip:alice@example.com:5060"
}

// String returns e as parsed and normalised, "+14152225555" or
// "sip:alice@example.com", which is also what Plivo is sent (see Format).
func (e Endpoint) String() string { return e.addr }

// IsSIP reports whether e is a SIP URI rather than a phone number.
func (e Endpoint) IsSIP() bool { return strings.HasPrefix(e.addr, sipScheme) }

// Format returns e as it is sent to Plivo: a phone number as +E.164 or as
// digits only, depending on f; a SIP URI unchanged.
func (e Endpoint) Format(f NumberFormat) string {
	if f == FormatDigits && !e.IsSIP() {
		return strings.TrimPrefix(e.addr, "+")
	}
	return e.addr
}

// Canonical returns the one form that every spelling of e's address has,
// to compare endpoints and key calls by: a phone number in E.164
// ("+14152225555"), whatever the NumberFormat sent to Plivo; a SIP URI with
// its scheme and host in lower case, an IPv6 host in brackets in its
// shortest form, the %-escapes of unreserved characters (RFC 3986: letters,
// digits, "-", ".", "_" and "~") in the user part decoded and the other
// escapes in upper-case hex, and the default port 5060 left out. So
// sip:%61lice@Host:5060 and sip:alice@host are one address. The user part
// keeps its case, because SIP user parts are case-sensitive.
//
// It is never longer than String, parses to an Endpoint of the same
// Canonical form, and is "" for the zero Endpoint. It is for comparing
// only: Plivo is sent String's spelling, the one the members joined with.
func (e Endpoint) Canonical() string {
	if !e.IsSIP() {
		return e.addr
	}
	// The parser let through exactly one @, well-formed escapes and a valid
	// host[:port], and wrote the scheme and the host in lower case.
	user, hostport, _ := strings.Cut(e.addr[len(sipScheme):], "@")
	host, port := splitHostPort(hostport)
	if strings.HasPrefix(host, "[") {
		if addr, err := netip.ParseAddr(host[1 : len(host)-1]); err == nil {
			host = "[" + shortestIPv6(addr) + "]"
		}
	}
	if port == defaultSIPPort {
		port = ""
	}
	var b strings.Builder
	b.Grow(len(e.addr))
	b.WriteString(sipScheme)
	writeCanonicalUser(&b, user)
	b.WriteByte('@')
	b.WriteString(host)
	if port != "" {
		b.WriteByte(':')
		b.WriteString(port)
	}
	return b.String()
}

// defaultSIPPort is the port a sip: URI without one is at (RFC 3261
// §19.1.2), so writing it changes nothing.
const defaultSIPPort = "5060"

// splitHostPort splits a host[:port] the parser accepted, leaving an IPv6
// host in its brackets.
func splitHostPort(hostport string) (host, port string) {
	if end := strings.IndexByte(hostport, ']'); end >= 0 {
		return hostport[:end+1], strings.TrimPrefix(hostport[end+1:], ":")
	}
	host, port, _ = strings.Cut(hostport, ":")
	return host, port
}

// shortestIPv6 returns the shortest way to write addr, an IPv6 address: in
// lower-case hex without leading zeros, and :: for the run of zero groups
// that saves the most, the first of equals, or for none when none saves a
// character. No other spelling of addr is shorter, not even one with a
// dotted IPv4 tail, so a canonical SIP URI is never longer than the one it
// came from and still fits the parser's bound. RFC 5952's form
// (netip.Addr.String) does not promise that: it never writes :: for a
// single 0 group, and writes a mapped IPv4 address dotted.
func shortestIPv6(addr netip.Addr) string {
	raw := addr.As16()
	var groups [8]string
	for i := range groups {
		groups[i] = strconv.FormatUint(uint64(raw[2*i])<<8|uint64(raw[2*i+1]), 16)
	}
	best := strings.Join(groups[:], ":")
	for i := 0; i < len(groups); {
		if groups[i] != "0" {
			i++
			continue
		}
		j := i
		for j < len(groups) && groups[j] == "0" {
			j++
		}
		if s := strings.Join(groups[:i], ":") + "::" + strings.Join(groups[j:], ":"); len(s) < len(best) {
			best = s
		}
		i = j
	}
	return best
}

// writeCanonicalUser writes the SIP user part user with the escapes of
// unreserved characters decoded and the others in upper-case hex: an
// escaped unreserved character is the character itself (RFC 3986 §2.3),
// while an escaped reserved one is not, so those stay escaped.
func writeCanonicalUser(b *strings.Builder, user string) {
	const upperHex = "0123456789ABCDEF"
	for i := 0; i < len(user); i++ {
		c := user[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		v := unhex(user[i+1])<<4 | unhex(user[i+2])
		i += 2
		if isUnreserved(v) {
			b.WriteByte(v)
		} else {
			b.Write([]byte{'%', upperHex[v>>4], upperHex[v&0xf]})
		}
	}
}

// isUnreserved reports whether c is unreserved as RFC 3986 §2.3 has it.
func isUnreserved(c byte) bool {
	return isASCIIAlnum(c) || c == '-' || c == '.' || c == '_' || c == '~'
}

// unhex is the value of the hex digit c, which isHex accepted.
func unhex(c byte) byte {
	if isASCIIDigit(c) {
		return c - '0'
	}
	return (c | 0x20) - 'a' + 10
}

const (
	// maxEndpointLen bounds the input before any other work, and with it
	// every canonical form, which is never longer than its input.
	maxEndpointLen = 256
	// maxEcho bounds how much of a refused input an error message repeats.
	maxEcho = 64

	sipScheme = "sip:"
	telScheme = "tel:"

	minDigits = 8
	maxDigits = 15

	validForms = "give a phone number like +14152225555 or a SIP URI like sip:alice@example.com"
	sipForm    = "write it as sip:user@host, e.g. sip:alice@example.com"
)

var errEmpty = errors.New("missing: " + validForms)

// ParseEndpoint parses s as a phone number in international form or a SIP
// URI, as a supervisor types it or as Slack delivers it (possibly wrapped as
// a link, <tel:+14152225555|+1 415 222 5555>, or with links inside, as
// sip:<mailto:q@pbx.example.com|q@pbx.example.com>), and returns it
// normalised.
// The error says what is wrong and what a valid value looks like.
func ParseEndpoint(s string) (Endpoint, error) {
	if len(s) > maxEndpointLen {
		return Endpoint{}, fmt.Errorf("%s is %d bytes long: a phone number or SIP URI has at most %d characters", quote(s), len(s), maxEndpointLen)
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return Endpoint{}, errEmpty
	}
	s, err := unwrapLinks(s)
	if err != nil {
		return Endpoint{}, err
	}
	if s = strings.TrimSpace(s); s == "" {
		return Endpoint{}, errEmpty
	}
	if number, ok := cutPrefixFold(s, telScheme); ok {
		if number = strings.TrimSpace(number); number == "" {
			return Endpoint{}, errEmpty
		}
		return parsePhone(number)
	}
	if _, ok := cutPrefixFold(s, sipScheme); ok {
		return parseSIP(s)
	}
	switch c := s[0]; {
	case c == '+' || c == '(' || isASCIIDigit(c):
		return parsePhone(s)
	case strings.ContainsAny(s, ":@"):
		return Endpoint{}, fmt.Errorf("%s is not a SIP URI: %s", quote(s), sipForm)
	}
	return Endpoint{}, fmt.Errorf("%s is not a phone number or SIP URI: %s", quote(s), validForms)
}

// unwrapLinks undoes the links Slack makes of what was typed. A token that
// is a whole link, <target|label> or <target>, is its target. Links inside
// a token are the text Slack made them from: their label, or their target
// without a mailto: scheme (sip:<mailto:q@pbx.example.com|q@pbx.example.com>
// is sip:q@pbx.example.com). Text without < is returned as it is.
func unwrapLinks(s string) (string, error) {
	if !strings.Contains(s, "<") {
		return s, nil
	}
	nested := fmt.Errorf("%s is not a phone number or SIP URI: %s", quote(s), validForms)
	if s[0] == '<' && strings.IndexByte(s, '>') == len(s)-1 {
		inner := s[1 : len(s)-1]
		if strings.Contains(inner, "<") {
			return "", nested
		}
		target, _, _ := strings.Cut(inner, "|")
		return strings.TrimSpace(target), nil
	}
	var b strings.Builder
	for rest := s; ; {
		i := strings.IndexByte(rest, '<')
		if i < 0 {
			b.WriteString(rest)
			return b.String(), nil
		}
		j := strings.IndexByte(rest[i:], '>')
		if j < 0 {
			return "", fmt.Errorf("%s starts a link with < but does not end it with >: %s", quote(s), validForms)
		}
		inner := rest[i+1 : i+j]
		if strings.Contains(inner, "<") {
			return "", nested
		}
		b.WriteString(rest[:i])
		b.WriteString(linkText(inner))
		rest = rest[i+j+1:]
	}
}

// linkText is the text Slack made the link inner (between < and >) from.
func linkText(inner string) string {
	target, label, ok := strings.Cut(inner, "|")
	if label = strings.TrimSpace(label); ok && label != "" {
		return label
	}
	if addr, ok := cutPrefixFold(strings.TrimSpace(target), "mailto:"); ok {
		return addr
	}
	return strings.TrimSpace(target)
}

// parsePhone parses an international phone number: + then 8 to 15 digits,
// the first not 0, with separators that are dropped.
func parsePhone(s string) (Endpoint, error) {
	rest, plus := strings.CutPrefix(s, "+")
	var digits [maxDigits]byte
	n := 0
	for i, r := range rest {
		switch {
		case '0' <= r && r <= '9':
			if n < len(digits) {
				digits[n] = byte(r)
			}
			n++
		case isPhoneSeparator(r):
		case !plus:
			// Without a +, anything but digits means this was never meant
			// to be a phone number.
			return Endpoint{}, fmt.Errorf("%s is not a phone number or SIP URI: %s", quote(s), validForms)
		case unicode.IsDigit(r):
			return Endpoint{}, fmt.Errorf("%s contains %s, which is not a digit from 0 to 9: write the number with digits 0-9 after the +", quote(s), quote(runeAt(rest, i)))
		default:
			return Endpoint{}, fmt.Errorf("%s contains %s, which is not allowed in a phone number: use digits, spaces, -, . and ( ) after the +", quote(s), quote(runeAt(rest, i)))
		}
	}
	switch {
	case !plus:
		return Endpoint{}, fmt.Errorf("%s has no country code: write it in international form with + and the country code, e.g. +14152225555", quote(s))
	case n < minDigits || n > maxDigits:
		return Endpoint{}, fmt.Errorf("%s has %d digits: an international number has %d to %d digits after the +", quote(s), n, minDigits, maxDigits)
	case digits[0] == '0':
		return Endpoint{}, fmt.Errorf("%s has 0 after the +: an international number starts with its country code, e.g. +14152225555", quote(s))
	}
	return Endpoint{addr: "+" + string(digits[:n])}, nil
}

func isPhoneSeparator(r rune) bool {
	switch r {
	case ' ', '\t', '\u00a0', '-', '.', '(', ')':
		return true
	}
	return false
}

// parseSIP parses sip:user@host[:port], s starting with the scheme in any
// case.
func parseSIP(s string) (Endpoint, error) {
	rest := s[len(sipScheme):]
	switch strings.Count(rest, "@") {
	case 0:
		return Endpoint{}, fmt.Errorf("%s is not a SIP URI: %s", quote(s), sipForm)
	case 1:
	default:
		return Endpoint{}, fmt.Errorf("%s has more than one @: %s", quote(s), sipForm)
	}
	user, hostport, _ := strings.Cut(rest, "@")
	if user == "" {
		return Endpoint{}, fmt.Errorf("%s has no user before the @: %s", quote(s), sipForm)
	}
	if err := checkSIPUser(user); err != nil {
		return Endpoint{}, fmt.Errorf("%s %w: %s", quote(s), err, sipForm)
	}
	if hostport == "" {
		return Endpoint{}, fmt.Errorf("%s has no host after the @: %s", quote(s), sipForm)
	}
	if strings.ContainsAny(hostport, ";?") {
		return Endpoint{}, fmt.Errorf("%s has parameters after the host, which are not supported: write it as sip:user@host or sip:user@host:port", quote(s))
	}
	if err := checkHostPort(hostport); err != nil {
		return Endpoint{}, fmt.Errorf("%s %w", quote(s), err)
	}
	// Every byte was checked to be ASCII, so ToLower touches only A-Z.
	return Endpoint{addr: sipScheme + user + "@" + strings.ToLower(hostport)}, nil
}

// checkSIPUser checks the user part against RFC 3261: unreserved characters,
// %HH escapes and user-unreserved characters.
func checkSIPUser(user string) error {
	for i := 0; i < len(user); i++ {
		c := user[i]
		switch {
		case isASCIIAlnum(c) || strings.IndexByte("-_.!~*'()&=+$,;?/", c) >= 0:
		case c == '%':
			if i+2 >= len(user) || !isHex(user[i+1]) || !isHex(user[i+2]) {
				return fmt.Errorf("has a bad escape %s in the user part, where %% must be followed by two hex digits", quote(user[i:min(i+3, len(user))]))
			}
			i += 2
		default:
			return fmt.Errorf("contains %s in the user part, which is not allowed in a SIP URI", quote(runeAt(user, i)))
		}
	}
	return nil
}

// checkHostPort checks host[:port], where host is a host name, an IPv4
// address or an IPv6 address in brackets.
func checkHostPort(hostport string) error {
	var host, port string
	var hasPort bool
	if strings.HasPrefix(hostport, "[") {
		end := strings.IndexByte(hostport, ']')
		if end < 0 {
			return fmt.Errorf("has an invalid host %s: close an IPv6 address with ]", quote(hostport))
		}
		host = hostport[:end+1]
		if after := hostport[end+1:]; after != "" {
			if port, hasPort = strings.CutPrefix(after, ":"); !hasPort {
				return fmt.Errorf("has an invalid host %s: only :port may follow the host", quote(hostport))
			}
		}
		if addr, err := netip.ParseAddr(host[1:end]); err != nil || !addr.Is6() || addr.Zone() != "" {
			return fmt.Errorf("has an invalid IPv6 address %s: write it like [2001:db8::1]", quote(host))
		}
	} else {
		if strings.Count(hostport, ":") > 1 {
			return fmt.Errorf("has an invalid host %s: write an IPv6 address in brackets, e.g. sip:alice@[2001:db8::1]", quote(hostport))
		}
		host, port, hasPort = strings.Cut(hostport, ":")
		if !isHostname(host) && !isIPv4(host) {
			return fmt.Errorf("has an invalid host %s: give a host name like example.com, an IPv4 address, or an IPv6 address in [ ]", quote(host))
		}
	}
	switch {
	case hasPort && port == "":
		return errors.New("has an empty port: write a number from 1 to 65535 after the colon, or leave the colon out")
	case hasPort && !isPort(port):
		return fmt.Errorf("has an invalid port %s: use a number from 1 to 65535", quote(port))
	}
	return nil
}

// isHostname reports whether s is a host name as RFC 3261 defines it: labels
// of letters, digits and inner hyphens, the last one starting with a letter.
func isHostname(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	labels := strings.Split(s, ".")
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			if !isASCIIAlnum(l[i]) && l[i] != '-' {
				return false
			}
		}
	}
	top := labels[len(labels)-1]
	return isASCIILetter(top[0])
}

func isIPv4(s string) bool {
	addr, err := netip.ParseAddr(s)
	return err == nil && addr.Is4()
}

// isPort reports whether s is a decimal port from 1 to 65535 without
// leading zeros.
func isPort(s string) bool {
	if len(s) > 5 || s[0] == '0' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isASCIIDigit(s[i]) {
			return false
		}
	}
	n, err := strconv.Atoi(s)
	return err == nil && n <= 65535
}

func isASCIIDigit(c byte) bool  { return '0' <= c && c <= '9' }
func isASCIILetter(c byte) bool { return 'a' <= c|0x20 && c|0x20 <= 'z' }
func isASCIIAlnum(c byte) bool  { return isASCIIDigit(c) || isASCIILetter(c) }
func isHex(c byte) bool         { return isASCIIDigit(c) || ('a' <= c|0x20 && c|0x20 <= 'f') }

// cutPrefixFold is strings.CutPrefix ignoring ASCII case only: Unicode case
// folding would let "ſip:" pass for "sip:".
func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) < len(prefix) {
		return s, false
	}
	for i := 0; i < len(prefix); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != prefix[i] {
			return s, false
		}
	}
	return s[len(prefix):], true
}

// runeAt returns the character that starts at byte i of s, or the single
// byte there when it is not valid UTF-8.
func runeAt(s string, i int) string {
	_, size := utf8.DecodeRuneInString(s[i:])
	return s[i : i+size]
}

// quote renders user input for an error message: quoted as %q does, so
// that control characters show as escapes, and cut after maxEcho bytes of
// quoted text.
func quote(s string) string {
	buf := make([]byte, 0, min(len(s), maxEcho)+8)
	buf = append(buf, '"')
	for i := 0; i < len(s); {
		_, size := utf8.DecodeRuneInString(s[i:])
		q := strconv.Quote(s[i : i+size])
		if len(buf)-1+len(q)-2 > maxEcho {
			return string(append(buf, "\"…"...))
		}
		buf = append(buf, q[1:len(q)-1]...)
		i += size
	}
	return string(append(buf, '"'))
}

// FieldError is a problem with one field of a transfer request.
type FieldError struct {
	// Field is "to" or "trigger_source", which are also the block ids of the
	// bot's modal.
	Field string
	// Err says what is wrong with the field's value.
	Err error
}

// Error renders "<field>: <message>".
func (e *FieldError) Error() string {
	if e.Err == nil {
		return e.Field + ": invalid"
	}
	return e.Field + ": " + e.Err.Error()
}

// Unwrap returns the problem with the field's value.
func (e *FieldError) Unwrap() error { return e.Err }

// The fields of a transfer request, named as in Plivo's request body.
const (
	fieldTo            = "to"
	fieldTriggerSource = "trigger_source"
)

// ParseTransfer parses and normalises both endpoints of a transfer: to, the
// destination, and triggerSource, the agent on the call who leaves it.
//
// A non-nil error is an errors.Join of *FieldError values, one per bad field,
// so that both are reported when both are bad. When both parse but are the
// same address, however each is spelled (their Canonical forms are equal),
// the error is one *FieldError for "to".
func ParseTransfer(to, triggerSource string) (toEP, triggerEP Endpoint, err error) {
	toEP, toErr := ParseEndpoint(to)
	triggerEP, triggerErr := ParseEndpoint(triggerSource)
	var errs []error
	if toErr != nil {
		errs = append(errs, &FieldError{Field: fieldTo, Err: toErr})
	}
	if triggerErr != nil {
		errs = append(errs, &FieldError{Field: fieldTriggerSource, Err: triggerErr})
	}
	if errs == nil && toEP.Canonical() == triggerEP.Canonical() {
		errs = append(errs, &FieldError{Field: fieldTo, Err: fmt.Errorf(
			"%s is also the agent on the call: transfer the call to someone else", toEP)})
	}
	if errs != nil {
		return Endpoint{}, Endpoint{}, errors.Join(errs...)
	}
	return toEP, triggerEP, nil
}
