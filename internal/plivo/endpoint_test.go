package plivo_test

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/coldtransfer/coldtransfer/internal/plivo"
)

// sip256 is a SIP URI of exactly 256 characters, the longest accepted.
var sip256 = "sip:" + strings.Repeat("a", 256-len("sip:")-len("@example.com")) + "@example.com"

var acceptCases = []struct {
	name   string
	in     string
	want   string // String(), and Format(FormatE164)
	digits string // Format(FormatDigits)
}{
	{"e164", "+14152225555", "+14152225555", "14152225555"},
	{"spaces dashes parentheses", "+1 (415) 222-5555", "+14152225555", "14152225555"},
	{"dots", "+44.20.7946.0958", "+442079460958", "442079460958"},
	{"tab and no-break space", "+1\t415\u00a0222 5555", "+14152225555", "14152225555"},
	{"separator after plus", "+ 1 415 222 5555", "+14152225555", "14152225555"},
	{"surrounding space", "  +14152225555 \n", "+14152225555", "14152225555"},
	{"8 digits", "+12345678", "+12345678", "12345678"},
	{"15 digits", "+123456789012345", "+123456789012345", "123456789012345"},
	{"slack tel link", "<tel:+14152225555|+1 415 222 5555>", "+14152225555", "14152225555"},
	{"slack tel link without label", "<tel:+14152225555>", "+14152225555", "14152225555"},
	{"tel link upper case", "<TEL:+1-415-222-5555|call>", "+14152225555", "14152225555"},
	{"bare tel uri", "tel:+14152225555", "+14152225555", "14152225555"},
	{"sip", "sip:alice@example.com", "sip:alice@example.com", "sip:alice@example.com"},
	{"sip scheme and host lower-cased, user kept", "SIP:Alice@Example.COM", "sip:Alice@example.com", "sip:Alice@example.com"},
	{"slack sip link", "<sip:bob@example.com>", "sip:bob@example.com", "sip:bob@example.com"},
	{"slack sip link with label", "<sip:bob@example.com|bob>", "sip:bob@example.com", "sip:bob@example.com"},
	{"mailto link inside a sip address", "sip:<mailto:queue@pbx.example.com|queue@pbx.example.com>", "sip:queue@pbx.example.com", "sip:queue@pbx.example.com"},
	{"mailto link without label inside", "SIP:<mailto:queue@PBX.example.com>", "sip:queue@pbx.example.com", "sip:queue@pbx.example.com"},
	{"host link inside a sip address", "sip:queue@<http://pbx.example.com|pbx.example.com>", "sip:queue@pbx.example.com", "sip:queue@pbx.example.com"},
	{"tel link after a space", " <tel:+14152225555|+1 415 222 5555> ", "+14152225555", "14152225555"},
	{"sip port", "sip:bob@example.com:5060", "sip:bob@example.com:5060", "sip:bob@example.com:5060"},
	{"sip port 65535", "sip:bob@example.com:65535", "sip:bob@example.com:65535", "sip:bob@example.com:65535"},
	{"sip ipv4", "sip:bob@192.0.2.10:5080", "sip:bob@192.0.2.10:5080", "sip:bob@192.0.2.10:5080"},
	{"sip ipv6", "sip:bob@[2001:DB8::1]:5060", "sip:bob@[2001:db8::1]:5060", "sip:bob@[2001:db8::1]:5060"},
	{"sip single-label host", "sip:100@pbx", "sip:100@pbx", "sip:100@pbx"},
	{"sip host with hyphens and digits", "sip:agent7@sip-1.eu-west2.example.net", "sip:agent7@sip-1.eu-west2.example.net", "sip:agent7@sip-1.eu-west2.example.net"},
	{"sip user marks", "sip:a-b_c.d!e~f*g'h(i)j@example.com", "sip:a-b_c.d!e~f*g'h(i)j@example.com", "sip:a-b_c.d!e~f*g'h(i)j@example.com"},
	{"sip user-unreserved", "sip:&=+$,;?/@example.com", "sip:&=+$,;?/@example.com", "sip:&=+$,;?/@example.com"},
	{"sip phone-number user", "sip:+14152225555@example.com", "sip:+14152225555@example.com", "sip:+14152225555@example.com"},
	{"sip escape", "sip:bob%20Smith%2f@example.com", "sip:bob%20Smith%2f@example.com", "sip:bob%20Smith%2f@example.com"},
	{"sip 256 characters", sip256, sip256, sip256},
	{"sip 63-character label", "sip:bob@" + strings.Repeat("a", 63) + ".example.com", "sip:bob@" + strings.Repeat("a", 63) + ".example.com", "sip:bob@" + strings.Repeat("a", 63) + ".example.com"},
}

const (
	forms   = "give a phone number like +14152225555 or a SIP URI like sip:alice@example.com"
	sipForm = "write it as sip:user@host, e.g. sip:alice@example.com"
	hostFix = "give a host name like example.com, an IPv4 address, or an IPv6 address in [ ]"
)

var refuseCases = []struct {
	name string
	in   string
	want string // the whole error message
}{
	{"empty", "", "missing: " + forms},
	{"only space", " \t\u00a0", "missing: " + forms},
	{"empty link", "<>", "missing: " + forms},
	{"empty tel link", "<tel:|call>", "missing: " + forms},
	{"link with only a label", "<|+14152225555>", "missing: " + forms},
	{"no country code", "4152225555", `"4152225555" has no country code: write it in international form with + and the country code, e.g. +14152225555`},
	{"no country code with separators", "(415) 222-5555", `"(415) 222-5555" has no country code: write it in international form with + and the country code, e.g. +14152225555`},
	{"no plus in a tel link", "<tel:4152225555|415 222 5555>", `"4152225555" has no country code: write it in international form with + and the country code, e.g. +14152225555`},
	{"digits then letters", "1-800-FLOWERS", `"1-800-FLOWERS" is not a phone number or SIP URI: ` + forms},
	{"too few digits", "+1415", `"+1415" has 4 digits: an international number has 8 to 15 digits after the +`},
	{"7 digits", "+1234567", `"+1234567" has 7 digits: an international number has 8 to 15 digits after the +`},
	{"16 digits", "+1234567890123456", `"+1234567890123456" has 16 digits: an international number has 8 to 15 digits after the +`},
	{"plus alone", "+", `"+" has 0 digits: an international number has 8 to 15 digits after the +`},
	{"leading zero", "+04152225555", `"+04152225555" has 0 after the +: an international number starts with its country code, e.g. +14152225555`},
	{"letters", "+1 415 abc", `"+1 415 abc" contains "a", which is not allowed in a phone number: use digits, spaces, -, . and ( ) after the +`},
	{"two plus signs", "++14152225555", `"++14152225555" contains "+", which is not allowed in a phone number: use digits, spaces, -, . and ( ) after the +`},
	{"slash", "+1/415/222/5555", `"+1/415/222/5555" contains "/", which is not allowed in a phone number: use digits, spaces, -, . and ( ) after the +`},
	{"arabic-indic digits", "+١٤١٥٢٢٢٥٥٥٥", `"+١٤١٥٢٢٢٥٥٥٥" contains "١", which is not a digit from 0 to 9: write the number with digits 0-9 after the +`},
	{"fullwidth digits", "+１４１５２２２５５５５", `"+１４１５２２２５５５５" contains "１", which is not a digit from 0 to 9: write the number with digits 0-9 after the +`},
	{"fullwidth plus", "＋14152225555", `"＋14152225555" is not a phone number or SIP URI: ` + forms},
	{"NUL", "+1415\x002225555", `"+1415\x002225555" contains "\x00", which is not allowed in a phone number: use digits, spaces, -, . and ( ) after the +`},
	{"invalid UTF-8", "+1415\xff2225555", `"+1415\xff2225555" contains "\xff", which is not allowed in a phone number: use digits, spaces, -, . and ( ) after the +`},
	{"newline inside", "+1415\n2225555", `"+1415\n2225555" contains "\n", which is not allowed in a phone number: use digits, spaces, -, . and ( ) after the +`},
	{"word", "alice", `"alice" is not a phone number or SIP URI: ` + forms},
	{"lone bar", "|", `"|" is not a phone number or SIP URI: ` + forms},
	{"email", "bob@example.com", `"bob@example.com" is not a SIP URI: ` + sipForm},
	{"sips", "sips:bob@example.com", `"sips:bob@example.com" is not a SIP URI: ` + sipForm},
	{"mailto link", "<mailto:bob@example.com|bob@example.com>", `"mailto:bob@example.com" is not a SIP URI: ` + sipForm},
	{"unclosed link", "<tel:+14152225555", `"<tel:+14152225555" starts a link with < but does not end it with >: ` + forms},
	{"lone angle bracket", "<", `"<" starts a link with < but does not end it with >: ` + forms},
	{"nested link", "<<tel:+14152225555>>", `"<<tel:+14152225555>>" is not a phone number or SIP URI: ` + forms},
	{"unclosed link inside", "sip:<mailto:q@pbx.example.com", `"sip:<mailto:q@pbx.example.com" starts a link with < but does not end it with >: ` + forms},
	{"nested link inside", "sip:<a<b>>", `"sip:<a<b>>" is not a phone number or SIP URI: ` + forms},
	{"two addresses in one token", "sip:<mailto:a@b.com|a@b.com><mailto:c@d.com>", `"sip:a@b.comc@d.com" has more than one @: ` + sipForm},
	{"sip without user", "sip:bob", `"sip:bob" is not a SIP URI: ` + sipForm},
	{"sip scheme alone", "sip:", `"sip:" is not a SIP URI: ` + sipForm},
	{"sip two at signs", "sip:a@@example.com", `"sip:a@@example.com" has more than one @: ` + sipForm},
	{"sip empty user", "sip:@example.com", `"sip:@example.com" has no user before the @: ` + sipForm},
	{"sip empty host", "sip:bob@", `"sip:bob@" has no host after the @: ` + sipForm},
	{"sip space in user", "sip:bob smith@example.com", `"sip:bob smith@example.com" contains " " in the user part, which is not allowed in a SIP URI: ` + sipForm},
	{"sip colon in user", "sip:bob:pw@example.com", `"sip:bob:pw@example.com" contains ":" in the user part, which is not allowed in a SIP URI: ` + sipForm},
	{"sip non-ASCII user", "sip:bøb@example.com", `"sip:bøb@example.com" contains "ø" in the user part, which is not allowed in a SIP URI: ` + sipForm},
	{"sip bad escape", "sip:bob%zz@example.com", `"sip:bob%zz@example.com" has a bad escape "%zz" in the user part, where % must be followed by two hex digits: ` + sipForm},
	{"sip short escape", "sip:bob%2@example.com", `"sip:bob%2@example.com" has a bad escape "%2" in the user part, where % must be followed by two hex digits: ` + sipForm},
	{"sip space in host", "sip:bob@exa mple.com", `"sip:bob@exa mple.com" has an invalid host "exa mple.com": ` + hostFix},
	{"sip host leading hyphen", "sip:bob@-example.com", `"sip:bob@-example.com" has an invalid host "-example.com": ` + hostFix},
	{"sip label trailing hyphen", "sip:bob@example-.com", `"sip:bob@example-.com" has an invalid host "example-.com": ` + hostFix},
	{"sip numeric top label", "sip:bob@example.123", `"sip:bob@example.123" has an invalid host "example.123": ` + hostFix},
	{"sip empty label", "sip:bob@example..com", `"sip:bob@example..com" has an invalid host "example..com": ` + hostFix},
	{"sip trailing dot", "sip:bob@example.com.", `"sip:bob@example.com." has an invalid host "example.com.": ` + hostFix},
	{"sip underscore in host", "sip:bob@ex_ample.com", `"sip:bob@ex_ample.com" has an invalid host "ex_ample.com": ` + hostFix},
	{"sip 64-character label", "sip:bob@" + strings.Repeat("a", 64) + ".com", `"sip:bob@` + strings.Repeat("a", 56) + `"… has an invalid host "` + strings.Repeat("a", 64) + `"…: ` + hostFix},
	{"sip bad ipv4", "sip:bob@192.0.2.300", `"sip:bob@192.0.2.300" has an invalid host "192.0.2.300": ` + hostFix},
	{"sip non-ASCII host", "sip:bob@exämple.com", `"sip:bob@exämple.com" has an invalid host "exämple.com": ` + hostFix},
	{"sip port 0", "sip:bob@example.com:0", `"sip:bob@example.com:0" has an invalid port "0": use a number from 1 to 65535`},
	{"sip port 65536", "sip:bob@example.com:65536", `"sip:bob@example.com:65536" has an invalid port "65536": use a number from 1 to 65535`},
	{"sip port leading zero", "sip:bob@example.com:05060", `"sip:bob@example.com:05060" has an invalid port "05060": use a number from 1 to 65535`},
	{"sip port letters", "sip:bob@example.com:50a", `"sip:bob@example.com:50a" has an invalid port "50a": use a number from 1 to 65535`},
	{"sip empty port", "sip:bob@example.com:", `"sip:bob@example.com:" has an empty port: write a number from 1 to 65535 after the colon, or leave the colon out`},
	{"sip empty port after ipv6", "sip:bob@[::1]:", `"sip:bob@[::1]:" has an empty port: write a number from 1 to 65535 after the colon, or leave the colon out`},
	{"sip bare ipv6", "sip:bob@2001:db8::1", `"sip:bob@2001:db8::1" has an invalid host "2001:db8::1": write an IPv6 address in brackets, e.g. sip:alice@[2001:db8::1]`},
	{"sip ipv6 unclosed", "sip:bob@[2001:db8::1", `"sip:bob@[2001:db8::1" has an invalid host "[2001:db8::1": close an IPv6 address with ]`},
	{"sip ipv6 with zone", "sip:bob@[fe80::1%eth0]", `"sip:bob@[fe80::1%eth0]" has an invalid IPv6 address "[fe80::1%eth0]": write it like [2001:db8::1]`},
	{"sip ipv4 in brackets", "sip:bob@[192.0.2.1]", `"sip:bob@[192.0.2.1]" has an invalid IPv6 address "[192.0.2.1]": write it like [2001:db8::1]`},
	{"sip junk after ipv6", "sip:bob@[::1]x", `"sip:bob@[::1]x" has an invalid host "[::1]x": only :port may follow the host`},
	{"sip parameters", "sip:bob@example.com;transport=tcp", `"sip:bob@example.com;transport=tcp" has parameters after the host, which are not supported: write it as sip:user@host or sip:user@host:port`},
	{"sip with space after scheme", "sip: bob@example.com", `"sip: bob@example.com" contains " " in the user part, which is not allowed in a SIP URI: ` + sipForm},
	{"long ſip scheme is not sip", "ſip:bob@example.com", `"ſip:bob@example.com" is not a SIP URI: ` + sipForm},
	{
		"echo is capped",
		"sip:" + strings.Repeat("a", 100),
		strconv.Quote("sip:"+strings.Repeat("a", 60)) + "… is not a SIP URI: " + sipForm,
	},
	{
		"too long",
		"+" + strings.Repeat("1", 256),
		strconv.Quote("+"+strings.Repeat("1", 63)) + "… is 257 bytes long: a phone number or SIP URI has at most 256 characters",
	},
	{
		"too long sip",
		sip256 + "m",
		strconv.Quote(sip256[:64]) + "… is 257 bytes long: a phone number or SIP URI has at most 256 characters",
	},
	{
		"echo capped after escaping",
		"+1" + strings.Repeat("\x01", 40),
		`"+1` + strings.Repeat(`\x01`, 15) + `"… contains "\x01", which is not allowed in a phone number: use digits, spaces, -, . and ( ) after the +`,
	},
	{
		"echo cut on a character boundary",
		"+1 " + strings.Repeat("é", 40),
		strconv.Quote("+1 "+strings.Repeat("é", 30)) + `… contains "é", which is not allowed in a phone number: use digits, spaces, -, . and ( ) after the +`,
	},
}

func TestParseEndpointAccepts(t *testing.T) {
	for _, tc := range acceptCases {
		t.Run(tc.name, func(t *testing.T) {
			e, err := plivo.ParseEndpoint(tc.in)
			if err != nil {
				t.Fatalf("ParseEndpoint(%q): %v", tc.in, err)
			}
			if got := e.String(); got != tc.want {
				t.Errorf("String() = %q, want %q", got, tc.want)
			}
			if got := e.Format(plivo.FormatE164); got != tc.want {
				t.Errorf("Format(e164) = %q, want %q", got, tc.want)
			}
			if got := e.Format(plivo.FormatDigits); got != tc.digits {
				t.Errorf("Format(digits) = %q, want %q", got, tc.digits)
			}
			if got, want := e.IsSIP(), strings.HasPrefix(tc.want, "sip:"); got != want {
				t.Errorf("IsSIP() = %v, want %v", got, want)
			}
		})
	}
}

// canonicalCases are spellings and the Canonical form they share.
var canonicalCases = []struct {
	name string
	in   string
	want string // Canonical()
}{
	{"number", "+1 (415) 222-5555", "+14152225555"},
	{"number as a tel link", "<tel:+14152225555|+1 415 222 5555>", "+14152225555"},
	{"sip unchanged", "sip:alice@example.com", "sip:alice@example.com"},
	{"sip scheme and host in any case", "SIP:alice@EXAMPLE.com", "sip:alice@example.com"},
	{"sip user keeps its case", "sip:Alice@example.com", "sip:Alice@example.com"},
	{"escaped letter decoded", "sip:%61lice@example.com", "sip:alice@example.com"},
	{"escaped capital stays a capital", "sip:%41lice@example.com", "sip:Alice@example.com"},
	{"escape in upper-case hex decoded", "sip:%6C%6Fw@example.com", "sip:low@example.com"},
	{"escaped digit decoded", "sip:%31%30%30@pbx", "sip:100@pbx"},
	{"escaped - . _ ~ decoded", "sip:a%2Db%2ec%5Fd%7ee@example.com", "sip:a-b.c_d~e@example.com"},
	{"escaped reserved character kept, hex upper-cased", "sip:bob%2fq%3b@example.com", "sip:bob%2Fq%3B@example.com"},
	{"escaped space kept", "sip:bob%20smith@example.com", "sip:bob%20smith@example.com"},
	{"escaped percent kept", "sip:100%25@example.com", "sip:100%25@example.com"},
	{"escaped mark kept: not unreserved in RFC 3986", "sip:a%21@example.com", "sip:a%21@example.com"},
	{"escaped non-ASCII byte kept", "sip:%c3%a9@example.com", "sip:%C3%A9@example.com"},
	{"literal marks kept", "sip:a!b*c'd(e)f@example.com", "sip:a!b*c'd(e)f@example.com"},
	{"default port dropped", "sip:alice@example.com:5060", "sip:alice@example.com"},
	{"other port kept", "sip:alice@example.com:5080", "sip:alice@example.com:5080"},
	{"port 50600 kept", "sip:alice@example.com:50600", "sip:alice@example.com:50600"},
	{"port 506 kept", "sip:alice@example.com:506", "sip:alice@example.com:506"},
	{"ipv4 default port dropped", "sip:alice@192.0.2.10:5060", "sip:alice@192.0.2.10"},
	{"ipv6 default port dropped, brackets kept", "sip:alice@[2001:DB8::1]:5060", "sip:alice@[2001:db8::1]"},
	{"ipv6 other port kept", "sip:alice@[2001:db8::1]:5061", "sip:alice@[2001:db8::1]:5061"},
	{"ipv6 leading zeros and zero groups", "sip:alice@[2001:0DB8:0000:0000:0000:0000:0000:0001]", "sip:alice@[2001:db8::1]"},
	{"ipv6 longest zero run compressed", "sip:alice@[1:0:0:1:0:0:0:1]", "sip:alice@[1:0:0:1::1]"},
	{"ipv6 single zero group compressed", "sip:alice@[1:0:1:1:1:1:1:1]", "sip:alice@[1::1:1:1:1:1:1]"},
	{"ipv6 zero run at an edge", "sip:alice@[0:0:0:0:0:0:0:1]", "sip:alice@[::1]"},
	{"ipv6 unspecified", "sip:alice@[0:0:0:0:0:0:0:0]", "sip:alice@[::]"},
	{"ipv6 dotted tail in hex", "sip:alice@[::ffff:192.0.2.1]", "sip:alice@[::ffff:c000:201]"},
	{"everything at once", "<SIP:%61lice%2f@Example.COM:5060>", "sip:alice%2F@example.com"},
}

func TestCanonical(t *testing.T) {
	for _, tc := range canonicalCases {
		t.Run(tc.name, func(t *testing.T) {
			e, err := plivo.ParseEndpoint(tc.in)
			if err != nil {
				t.Fatalf("ParseEndpoint(%q): %v", tc.in, err)
			}
			if got := e.Canonical(); got != tc.want {
				t.Errorf("ParseEndpoint(%q).Canonical() = %q, want %q", tc.in, got, tc.want)
			}
			again, err := plivo.ParseEndpoint(tc.want)
			if err != nil || again.Canonical() != tc.want {
				t.Errorf("ParseEndpoint(%q) = %q, %v: the canonical form is not its own Canonical", tc.want, again.Canonical(), err)
			}
		})
	}
}

// Canonical is for comparing: what is sent to Plivo is the address as it
// was written.
func TestCanonicalLeavesStringAndFormat(t *testing.T) {
	e, err := plivo.ParseEndpoint("sip:%61lice@Example.com:5060")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := e.String(), "sip:%61lice@example.com:5060"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	for _, f := range []plivo.NumberFormat{plivo.FormatE164, plivo.FormatDigits} {
		if got, want := e.Format(f), "sip:%61lice@example.com:5060"; got != want {
			t.Errorf("Format(%s) = %q, want %q", f, got, want)
		}
	}
	if got := (plivo.Endpoint{}).Canonical(); got != "" {
		t.Errorf("zero Endpoint's Canonical() = %q, want empty", got)
	}
}

// Spellings of one address share a Canonical form; different addresses
// do not.
func TestCanonicalSameAddress(t *testing.T) {
	tests := []struct {
		a, b string
		same bool
	}{
		{"sip:alice@host.example", "sip:%61lice@host.example", true},
		{"sip:alice@host.example", "sip:alice@host.example:5060", true},
		{"sip:alice@host.example", "SIP:%61%6C%69%63%65@HOST.example:5060", true},
		{"sip:bob%2fx@host.example", "sip:bob%2Fx@host.example", true},
		{"sip:alice@[::1]", "sip:alice@[0:0:0:0:0:0:0:1]:5060", true},
		{"+14152225555", "+1 415 222 5555", true},
		{"+14152225555", "tel:+1-415-222-5555", true},
		{"sip:alice@host.example", "sip:Alice@host.example", false},
		{"sip:alice@host.example", "sip:alice@host.example:5061", false},
		{"sip:bob/x@host.example", "sip:bob%2Fx@host.example", false},
		{"sip:+14152225555@host.example", "+14152225555", false},
	}
	for _, tt := range tests {
		a, errA := plivo.ParseEndpoint(tt.a)
		b, errB := plivo.ParseEndpoint(tt.b)
		if errA != nil || errB != nil {
			t.Fatalf("ParseEndpoint: %v, %v", errA, errB)
		}
		if same := a.Canonical() == b.Canonical(); same != tt.same {
			t.Errorf("%q (%s) and %q (%s): same address %v, want %v", tt.a, a.Canonical(), tt.b, b.Canonical(), same, tt.same)
		}
	}
}

func TestParseEndpointRefuses(t *testing.T) {
	for _, tc := range refuseCases {
		t.Run(tc.name, func(t *testing.T) {
			e, err := plivo.ParseEndpoint(tc.in)
			if err == nil {
				t.Fatalf("ParseEndpoint(%q) = %q, want error %q", tc.in, e, tc.want)
			}
			if got := err.Error(); got != tc.want {
				t.Errorf("ParseEndpoint(%q) error\n got: %s\nwant: %s", tc.in, got, tc.want)
			}
			if e != (plivo.Endpoint{}) {
				t.Errorf("ParseEndpoint(%q) returned %q with its error, want the zero Endpoint", tc.in, e)
			}
		})
	}
}

func TestZeroEndpoint(t *testing.T) {
	var e plivo.Endpoint
	if e.String() != "" || e.Format(plivo.FormatDigits) != "" || e.Format(plivo.FormatE164) != "" || e.IsSIP() {
		t.Errorf("zero Endpoint: String %q, Format %q/%q, IsSIP %v; want empty and false",
			e.String(), e.Format(plivo.FormatE164), e.Format(plivo.FormatDigits), e.IsSIP())
	}
}

// fieldErrors returns the *FieldError values joined in err, in order.
func fieldErrors(t *testing.T, err error) []*plivo.FieldError {
	t.Helper()
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		t.Fatalf("error %v (%T) is not an errors.Join", err, err)
	}
	var fes []*plivo.FieldError
	for _, e := range joined.Unwrap() {
		fe, ok := e.(*plivo.FieldError)
		if !ok {
			t.Fatalf("joined error %v is a %T, want *plivo.FieldError", e, e)
		}
		fes = append(fes, fe)
	}
	return fes
}

func TestFieldErrorWithoutErr(t *testing.T) {
	if got, want := (&plivo.FieldError{Field: "to"}).Error(), "to: invalid"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestParseTransfer(t *testing.T) {
	type fieldErr struct{ field, msg string }
	tests := []struct {
		name          string
		to, trigger   string
		wantTo        string
		wantTrigger   string
		wantFieldErrs []fieldErr
	}{
		{
			name: "phone to SIP", to: "+1 415 222 5555", trigger: "<sip:agent@Example.com|agent>",
			wantTo: "+14152225555", wantTrigger: "sip:agent@example.com",
		},
		{
			name: "SIP users differing in case are different members", to: "sip:Bob@example.com", trigger: "sip:bob@example.com",
			wantTo: "sip:Bob@example.com", wantTrigger: "sip:bob@example.com",
		},
		{
			name: "both bad", to: "4152225555", trigger: "",
			wantFieldErrs: []fieldErr{
				{"to", `to: "4152225555" has no country code: write it in international form with + and the country code, e.g. +14152225555`},
				{"trigger_source", "trigger_source: missing: " + forms},
			},
		},
		{
			name: "to bad", to: "sip:bob", trigger: "+14152225555",
			wantFieldErrs: []fieldErr{{"to", `to: "sip:bob" is not a SIP URI: ` + sipForm}},
		},
		{
			name: "trigger_source bad", to: "+14152225555", trigger: "+1415",
			wantFieldErrs: []fieldErr{{"trigger_source", `trigger_source: "+1415" has 4 digits: an international number has 8 to 15 digits after the +`}},
		},
		{
			name: "equal", to: "+14152225555", trigger: "+14152225555",
			wantFieldErrs: []fieldErr{{"to", "to: +14152225555 is also the agent on the call: transfer the call to someone else"}},
		},
		{
			name: "equal after normalisation", to: "+1 415 222 5555", trigger: "<tel:+14152225555|+1 415 222 5555>",
			wantFieldErrs: []fieldErr{{"to", "to: +14152225555 is also the agent on the call: transfer the call to someone else"}},
		},
		{
			name: "equal SIP after normalisation", to: "SIP:bob@EXAMPLE.com", trigger: "<sip:bob@example.com>",
			wantFieldErrs: []fieldErr{{"to", "to: sip:bob@example.com is also the agent on the call: transfer the call to someone else"}},
		},
		{
			name: "equal SIP spelled two ways", to: "sip:%62ob@example.com:5060", trigger: "sip:bob@example.com",
			wantFieldErrs: []fieldErr{{"to", "to: sip:%62ob@example.com:5060 is also the agent on the call: transfer the call to someone else"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			to, trigger, err := plivo.ParseTransfer(tc.to, tc.trigger)
			if tc.wantFieldErrs == nil {
				if err != nil {
					t.Fatalf("ParseTransfer(%q, %q): %v", tc.to, tc.trigger, err)
				}
				if to.String() != tc.wantTo || trigger.String() != tc.wantTrigger {
					t.Errorf("ParseTransfer(%q, %q) = %q, %q; want %q, %q", tc.to, tc.trigger, to, trigger, tc.wantTo, tc.wantTrigger)
				}
				return
			}
			if err == nil {
				t.Fatalf("ParseTransfer(%q, %q) = %q, %q; want an error", tc.to, tc.trigger, to, trigger)
			}
			if to != (plivo.Endpoint{}) || trigger != (plivo.Endpoint{}) {
				t.Errorf("ParseTransfer returned %q, %q with its error; want zero Endpoints", to, trigger)
			}
			var got []fieldErr
			for _, fe := range fieldErrors(t, err) {
				got = append(got, fieldErr{fe.Field, fe.Error()})
			}
			if len(got) != len(tc.wantFieldErrs) {
				t.Fatalf("field errors = %q, want %q", got, tc.wantFieldErrs)
			}
			for i := range got {
				if got[i] != tc.wantFieldErrs[i] {
					t.Errorf("field error %d = %q, want %q", i, got[i], tc.wantFieldErrs[i])
				}
			}
			var fe *plivo.FieldError
			if !errors.As(err, &fe) || fe.Field != tc.wantFieldErrs[0].field {
				t.Errorf("errors.As(err, *FieldError) found %v, want field %q", fe, tc.wantFieldErrs[0].field)
			}
		})
	}
}

func TestFieldErrorUnwrap(t *testing.T) {
	cause := errors.New("is bad")
	fe := &plivo.FieldError{Field: "to", Err: cause}
	if !errors.Is(fe, cause) {
		t.Error("errors.Is(FieldError, its Err) = false")
	}
	if got, want := fe.Error(), "to: is bad"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestParseRole(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    plivo.Role
		wantErr string
	}{
		{name: "agent", in: "agent", want: plivo.RoleAgent},
		{name: "customer with space and case", in: " Customer\t", want: plivo.RoleCustomer},
		{name: "upper case", in: "AGENT", want: plivo.RoleAgent},
		{name: "empty", in: "", wantErr: `role must be "agent" or "customer", not ""`},
		{name: "other word", in: "x", wantErr: `role must be "agent" or "customer", not "x"`},
		{name: "plural", in: " agents ", wantErr: `role must be "agent" or "customer", not "agents"`},
		{name: "unicode fold is not ASCII case", in: "cuſtomer", wantErr: `role must be "agent" or "customer", not "cuſtomer"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := plivo.ParseRole(tc.in)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("ParseRole(%q) = %q, %v; want error %q", tc.in, got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseRole(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestParseNumberFormat(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    plivo.NumberFormat
		wantErr string
	}{
		{name: "e164", in: "e164", want: plivo.FormatE164},
		{name: "digits", in: "digits", want: plivo.FormatDigits},
		{name: "upper case", in: "E164", wantErr: `number format must be "e164" or "digits", not "E164"`},
		{name: "space", in: " digits", wantErr: `number format must be "e164" or "digits", not " digits"`},
		{name: "empty", in: "", wantErr: `number format must be "e164" or "digits", not ""`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := plivo.ParseNumberFormat(tc.in)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("ParseNumberFormat(%q) = %q, %v; want error %q", tc.in, got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseNumberFormat(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
}

var (
	canonicalPhone = regexp.MustCompile(`^\+[1-9][0-9]{7,14}$`)
	canonicalSIP   = regexp.MustCompile(`^sip:` +
		`(?:[A-Za-z0-9\-_.!~*'()&=+$,;?/]|%[0-9A-Fa-f]{2})+` +
		`@(?:` +
		`(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?` + // host name
		`|[0-9]{1,3}(?:\.[0-9]{1,3}){3}` + // IPv4
		`|\[[0-9a-f:.]+\]` + // IPv6
		`)(?::[1-9][0-9]{0,4})?$`)
)

func FuzzParseEndpoint(f *testing.F) {
	for _, tc := range acceptCases {
		f.Add(tc.in)
	}
	for _, tc := range refuseCases {
		f.Add(tc.in)
	}
	for _, tc := range canonicalCases {
		f.Add(tc.in)
	}
	for _, s := range []string{
		strings.Repeat("+1", 1<<16),
		strings.Repeat(" ", 300) + "+14152225555",
		"+14152225555\x00",
		"\x00",
		"\x1b[31m+14152225555",
		"+1\u202e4152225555",
		"+\u0661\u0664\u0661\u0665\u0662\u0662\u0662\u0665\u0665\u0665\u0665",
		"\uff0b\uff11\uff14\uff11\uff15",
		"sip:bob @example.com",
		"sip:bob@ example.com",
		"sip:@@",
		"sip:bob@@example.com",
		"<tel:",
		"<tel:+14152225555|",
		"<<tel:+14152225555|x>|y>",
		"<sip:bob@example.com|<sip:eve@evil.com>>",
		"sip:<mailto:q@pbx.example.com|q@pbx.example.com>",
		"sip:q@<x|>",
		"|",
		"<|>",
		"tel:",
		"tel:sip:bob@example.com",
		"sip:bob@[::ffff:1.2.3.4]",
		"sip:bob@[]",
		"sip:bob@[::1]:",
		"sip:bob@0.0.0.0:1",
		"sip:%@x",
		"SIP:%41@X",
		"\xff\xfe",
		"+1 (415) 222-5555 ext. 12",
		// Found by the fuzzer: escapes made a 64-byte echo four times longer.
		"sip:0@0000" + strings.Repeat("\x06", 20) + "000000" + strings.Repeat("\x86", 14),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		e, err := plivo.ParseEndpoint(in)
		if err != nil {
			msg := err.Error()
			if !utf8.ValidString(msg) || strings.ContainsFunc(msg, unicode.IsControl) {
				t.Fatalf("ParseEndpoint(%q) error has raw control or invalid bytes: %q", in, msg)
			}
			// A capped echo of the input plus the longest explanation.
			if len(msg) > 400 {
				t.Fatalf("ParseEndpoint(%q) error is %d bytes long: %q", in, len(msg), msg)
			}
			return
		}
		s := e.String()
		if !canonicalPhone.MatchString(s) && !canonicalSIP.MatchString(s) {
			t.Fatalf("ParseEndpoint(%q) accepted %q, which is neither a canonical phone number nor a strict SIP URI", in, s)
		}
		if len(s) > 256 {
			t.Fatalf("ParseEndpoint(%q) accepted %q, longer than 256", in, s)
		}
		if e.IsSIP() != strings.HasPrefix(s, "sip:") {
			t.Fatalf("%q: IsSIP() = %v", s, e.IsSIP())
		}
		if want := strings.TrimPrefix(s, "+"); !e.IsSIP() && e.Format(plivo.FormatDigits) != want {
			t.Fatalf("%q: Format(digits) = %q, want %q", s, e.Format(plivo.FormatDigits), want)
		}
		again, err := plivo.ParseEndpoint(s)
		if err != nil || again != e {
			t.Fatalf("ParseEndpoint(%q) = %q, then ParseEndpoint(%q) = %q, %v: not idempotent", in, s, s, again, err)
		}
		checkCanonical(t, e)
	})
}

// checkCanonical checks the Canonical form of e, a parsed endpoint: it is
// its own Canonical form, no longer than e, and has no spelling left that
// could differ: no escaped unreserved character, no lower-case hex, no
// default port, the IPv6 host of e in its shortest form.
func checkCanonical(t *testing.T, e plivo.Endpoint) {
	t.Helper()
	c := e.Canonical()
	if !e.IsSIP() {
		if c != e.String() {
			t.Fatalf("%q: Canonical() = %q, want the E.164 form", e, c)
		}
		return
	}
	again, err := plivo.ParseEndpoint(c)
	if err != nil {
		t.Fatalf("%q: Canonical() = %q, which does not parse: %v", e, c, err)
	}
	if again.String() != c || again.Canonical() != c {
		t.Fatalf("%q: Canonical() = %q, whose own String and Canonical are %q and %q", e, c, again, again.Canonical())
	}
	if len(c) > len(e.String()) {
		t.Fatalf("%q: Canonical() = %q is longer", e, c)
	}
	if !canonicalSIP.MatchString(c) || strings.HasSuffix(c, ":5060") || escapedUnreserved.MatchString(c) || lowerHexEscape.MatchString(c) {
		t.Fatalf("%q: Canonical() = %q is not canonical", e, c)
	}
	if want := canonicalUser(userOf(e.String())); userOf(c) != want {
		t.Fatalf("%q: Canonical() = %q, want the user part %q", e, c, want)
	}
	if host := hostOf(e.String()); strings.HasPrefix(host, "[") {
		want := netip.MustParseAddr(strings.Trim(host, "[]"))
		got, err := netip.ParseAddr(strings.Trim(hostOf(c), "[]"))
		if err != nil || got != want || !strings.HasPrefix(hostOf(c), "[") {
			t.Fatalf("%q: Canonical() = %q has another host than %s", e, c, want)
		}
	}
}

var (
	escapedUnreserved = regexp.MustCompile(`%(?:[46][1-9A-Fa-f]|[57][0-9Aa]|3[0-9]|2[DEde]|5[Ff]|7[Ee])`)
	lowerHexEscape    = regexp.MustCompile(`%(?:[a-f][0-9A-Fa-f]|[0-9A-Fa-f][a-f])`)
)

// userOf returns the user part of a SIP URI the parser accepted.
func userOf(uri string) string {
	user, _, _ := strings.Cut(strings.TrimPrefix(uri, "sip:"), "@")
	return user
}

// hostOf returns the host of a SIP URI the parser accepted, an IPv6
// address in its brackets, without the port.
func hostOf(uri string) string {
	host, _ := hostPortOf(uri)
	return host
}

// hostPortOf returns the host and the port ("" for none) of a SIP URI the
// parser accepted.
func hostPortOf(uri string) (host, port string) {
	_, hostport, _ := strings.Cut(uri, "@")
	if end := strings.IndexByte(hostport, ']'); end >= 0 {
		return hostport[:end+1], strings.TrimPrefix(hostport[end+1:], ":")
	}
	host, port, _ = strings.Cut(hostport, ":")
	return host, port
}

// canonicalUser is the reference for the user part of a Canonical form,
// with net/url rather than the code under test decoding: escapes of RFC
// 3986's unreserved characters decoded, the others in upper case.
func canonicalUser(user string) string {
	return anyEscape.ReplaceAllStringFunc(user, func(esc string) string {
		d, err := url.PathUnescape(esc)
		if err != nil || len(d) != 1 || !strings.Contains(unreserved, d) {
			return strings.ToUpper(esc)
		}
		return d
	})
}

var anyEscape = regexp.MustCompile(`%[0-9A-Fa-f]{2}`)

const unreserved = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"

// FuzzCanonicalSpellings respells a SIP URI the parser accepts as a
// supervisor might, escaping characters, changing the case of the scheme,
// host and escapes, writing the default port and expanding an IPv6 host,
// and checks that the respelling has the same Canonical form.
func FuzzCanonicalSpellings(f *testing.F) {
	for _, tc := range canonicalCases {
		f.Add(tc.in, uint64(0))
		f.Add(tc.in, ^uint64(0))
		f.Add(tc.in, uint64(0x5555555555555555))
	}
	f.Fuzz(func(t *testing.T, in string, bits uint64) {
		e, err := plivo.ParseEndpoint(in)
		if err != nil || !e.IsSIP() {
			return
		}
		bit := func(i int) bool { return bits>>(uint(i)%64)&1 == 1 }
		var b strings.Builder
		if bit(63) {
			b.WriteString("SIP:")
		} else {
			b.WriteString("sip:")
		}
		user := userOf(e.String())
		for i := 0; i < len(user); i++ {
			c := user[i]
			hex := fmt.Sprintf("%02X", c)
			if bit(i + 1) {
				hex = strings.ToLower(hex)
			}
			switch {
			case c == '%':
				// An escape already: change the case of its hex.
				if bit(i) {
					b.WriteString("%" + strings.ToLower(user[i+1:i+3]))
				} else {
					b.WriteString("%" + strings.ToUpper(user[i+1:i+3]))
				}
				i += 2
			case strings.IndexByte(unreserved, c) >= 0 && bit(i):
				b.WriteString("%" + hex)
			default:
				b.WriteByte(c)
			}
		}
		b.WriteByte('@')
		host, port := hostPortOf(e.String())
		if strings.HasPrefix(host, "[") && bit(62) {
			host = "[" + netip.MustParseAddr(strings.Trim(host, "[]")).StringExpanded() + "]"
		}
		if bit(61) {
			host = strings.ToUpper(host)
		}
		b.WriteString(host)
		if port != "" {
			b.WriteString(":" + port)
		} else if bit(60) {
			b.WriteString(":5060")
		}
		respelled := b.String()
		if len(respelled) > 256 {
			return // beyond the parser's bound, which is another test's
		}
		other, err := plivo.ParseEndpoint(respelled)
		if err != nil {
			t.Fatalf("%q respelled as %q does not parse: %v", e, respelled, err)
		}
		if other.Canonical() != e.Canonical() {
			t.Fatalf("%q and its respelling %q: Canonical() %q and %q, want one", e, respelled, e.Canonical(), other.Canonical())
		}
	})
}
