package authz

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Policy is who may transfer and where, by Slack's immutable ids (never
// names, which their owners can change).
type Policy struct {
	Users    []string // U… or W…
	Groups   []string // S… (user groups)
	Channels []string // C…, G… or D…; empty means any channel
}

// The names of the variables ParsePolicy reads, as its errors spell them.
const (
	varUsers    = "TRANSFER_ALLOWED_USERS"
	varGroups   = "TRANSFER_ALLOWED_GROUPS"
	varChannels = "TRANSFER_ALLOWED_CHANNELS"
)

// A Slack id is one prefix letter that says what it names, then 2 to 30
// upper-case letters and digits.
const (
	minIDLen = 1 + 2
	maxIDLen = 1 + 30
)

// idKind is what one variable holds: the name of the thing and the prefixes
// its ids may start with.
type idKind struct {
	name     string // "user"
	prefixes string // "UW"
	hint     string // "U… or W…"
}

var (
	userIDs    = idKind{name: "user", prefixes: "UW", hint: "U… or W…"}
	groupIDs   = idKind{name: "user-group", prefixes: "S", hint: "S…"}
	channelIDs = idKind{name: "channel", prefixes: "CGD", hint: "C…, G… or D…"}
)

// ParsePolicy parses the three comma-separated variables
// TRANSFER_ALLOWED_USERS, TRANSFER_ALLOWED_GROUPS and
// TRANSFER_ALLOWED_CHANNELS, given as their values ("" when unset).
//
// It reports every problem, not just the first: the error is an errors.Join
// of one error per problem, each starting with the variable's name, e.g.
//
//	TRANSFER_ALLOWED_USERS: item 2 is empty
//	TRANSFER_ALLOWED_GROUPS: "U123ABC" is not a user-group id (S…)
//	TRANSFER_ALLOWED_USERS or TRANSFER_ALLOWED_GROUPS must be set: the bot never starts open to everyone
//
// Whitespace around items is trimmed, and a value of only whitespace is
// unset. An empty item (",," or a trailing comma) is an error, as is an id
// with lower-case letters: Slack ids are upper-case, and the error says so
// (a lower-case word without digits is taken for a name, and refused as not
// an id). Duplicates are dropped, keeping the first. An id is one prefix letter (U or
// W for users, S for user groups, C, G or D for channels) then 2 to 30 of
// A–Z and 0–9.
//
// On error the Policy is the zero value, so it cannot be used half-parsed.
func ParsePolicy(users, groups, channels string) (Policy, error) {
	var (
		p    Policy
		errs []error
	)
	p.Users, errs = parseIDs(varUsers, users, userIDs, errs)
	p.Groups, errs = parseIDs(varGroups, groups, groupIDs, errs)
	p.Channels, errs = parseIDs(varChannels, channels, channelIDs, errs)
	if isUnset(users) && isUnset(groups) {
		errs = append(errs, errors.New(varUsers+" or "+varGroups+" must be set: the bot never starts open to everyone"))
	}
	if len(errs) > 0 {
		return Policy{}, errors.Join(errs...)
	}
	return p, nil
}

func isUnset(value string) bool {
	return strings.TrimSpace(value) == ""
}

// parseIDs parses the comma-separated ids of the variable name, appending
// one error per problem to errs. It returns nil ids when the variable is
// unset.
func parseIDs(name, value string, kind idKind, errs []error) ([]string, []error) {
	if isUnset(value) {
		return nil, errs
	}
	var ids []string
	seen := make(map[string]struct{})
	for i, item := range strings.Split(value, ",") {
		item = strings.TrimSpace(item)
		if problem := checkID(i+1, item, kind); problem != "" {
			errs = append(errs, fmt.Errorf("%s: %s", name, problem))
			continue
		}
		if _, dup := seen[item]; dup {
			continue
		}
		seen[item] = struct{}{}
		ids = append(ids, item)
	}
	return ids, errs
}

// checkID returns what is wrong with item, the n-th of its variable, or ""
// when it is a well-formed id of kind.
func checkID(n int, item string, kind idKind) string {
	if item == "" {
		return fmt.Sprintf("item %d is empty", n)
	}
	what := describe(n, item)
	if !strings.ContainsRune(kind.prefixes, rune(asciiUpper(item[0]))) {
		return fmt.Sprintf("%s is not a %s id (%s)", what, kind.name, kind.hint)
	}
	if l := utf8.RuneCountInString(item); l < minIDLen {
		return fmt.Sprintf("%s is too short: Slack ids have %d to %d characters", what, minIDLen, maxIDLen)
	} else if l > maxIDLen {
		return fmt.Sprintf("%s is too long (%d characters): Slack ids have %d to %d characters", what, l, minIDLen, maxIDLen)
	}
	lower, digit := false, false
	for _, r := range item {
		switch {
		case 'A' <= r && r <= 'Z':
		case '0' <= r && r <= '9':
			digit = true
		case 'a' <= r && r <= 'z':
			lower = true
		default:
			return fmt.Sprintf("%s contains %q: Slack ids have only letters A–Z and digits", what, r)
		}
	}
	switch {
	case lower && !digit:
		// A lower-case word is a name ("general", "william"), not an id
		// typed in the wrong case: suggesting "GENERAL" would mislead.
		return fmt.Sprintf("%s is not a %s id (%s)", what, kind.name, kind.hint)
	case lower:
		return fmt.Sprintf("%s has lower-case letters: Slack ids are upper-case (%q)", what, strings.ToUpper(item))
	}
	return ""
}

// describe names item in an error: quoted when it could be a Slack id, by
// its position when it is longer than any id. A long item is more likely a
// token pasted on the wrong line than a mistyped id, and start-up errors
// must never echo a secret.
func describe(n int, item string) string {
	if len(item) > maxIDLen {
		return fmt.Sprintf("item %d", n)
	}
	return strconv.Quote(item)
}

func asciiUpper(b byte) byte {
	if 'a' <= b && b <= 'z' {
		return b - 'a' + 'A'
	}
	return b
}
