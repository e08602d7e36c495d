package directory

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"unicode"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/coldtransfer/coldtransfer/internal/plivo"
)

// Limits of a directory file. MaxDestinations keeps one bit per destination
// small enough to travel in a Slack form's private_metadata (3000
// characters) with room to spare.
//
// The YAML library builds the whole file as a tree, a hundred bytes or more
// per key, value and list item, before the parser sees any of it: what a
// file costs is how many values it has, and dense YAML packs one into every
// byte or two. MaxValues bounds them, counted from the text before the
// library starts (see valueBound), with room for any directory up to
// MaxFileSize written as directories are; MaxFileSize keeps the reading of
// a good file well under a second. Whoever wrote it, a file then parses in
// a fraction of a second and a few tens of MB.
const (
	MaxFileSize     = 1 << 20
	MaxValues       = 400_000
	MaxDestinations = 10_000
	MaxLabelLen     = 75 // characters: Slack's limit on an option's text
	maxNameLen      = 32
	maxEcho         = 40 // how much of a bad value a problem repeats
	maxDepth        = 16 // lists and mappings inside each other; a directory needs 4
	maxProblems     = 20 // the rest are counted: nobody reads a thousand lines
)

// Reserved are the words /transfer gives a meaning of its own, which no
// destination may be called.
var Reserved = []string{"help", "list", "me", "from", "as"}

var (
	namePattern   = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)
	idPattern     = regexp.MustCompile(`^[UWS][A-Z0-9]{2,30}$`)
	prefixPattern = regexp.MustCompile(`^\+[1-9][0-9]{0,14}$`)
)

// Error is a directory file that was refused: every problem found, one line
// each, naming the entry and the line, e.g.
//
//	destinations[2] "billing": to: "+1415" has 4 digits: … (line 12)
//
// After the first 20 problems a last line says how many more there are
// ("… and 180 more problems").
type Error struct {
	Problems []string
	omitted  int // problems found beyond the ones listed
}

// Error returns the problems, one per line.
func (e *Error) Error() string { return strings.Join(e.Problems, "\n") }

// count is how many problems were found, listed or not.
func (e *Error) count() int {
	if e.omitted > 0 {
		return len(e.Problems) - 1 + e.omitted
	}
	return len(e.Problems)
}

// Load reads and parses the directory file at path (following symbolic
// links). The error is an *Error, whose problems also say when the file
// cannot be read.
func Load(path string) (*Directory, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, &Error{Problems: []string{err.Error()}}
	}
	return Parse(data)
}

// readFile reads the regular file at path, following symbolic links (a
// Kubernetes ConfigMap's ..data swap), at most MaxFileSize+1 bytes of it.
// The file is opened without blocking and checked on the open descriptor:
// opening a named pipe for reading would otherwise wait for a writer, and
// checking the path before opening it would leave room for a swap.
func readFile(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("cannot read the file: %w", withoutPath(err))
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("cannot read the file: %w", withoutPath(err))
	}
	if !fi.Mode().IsRegular() {
		return nil, errors.New(notRegular(fi.Mode()))
	}
	if fi.Size() > MaxFileSize {
		return nil, tooLarge()
	}
	// The file may grow between the Stat and the read: the limit still holds.
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("cannot read the file: %w", err)
	}
	return data, nil
}

// notRegular says what a file that is not a regular file is instead.
func notRegular(mode fs.FileMode) string {
	var kind string
	switch {
	case mode.IsDir():
		kind = "a directory"
	case mode&fs.ModeNamedPipe != 0:
		kind = "a named pipe"
	case mode&fs.ModeSocket != 0:
		kind = "a socket"
	case mode&fs.ModeCharDevice != 0:
		kind = "a character device"
	case mode&fs.ModeDevice != 0:
		kind = "a device"
	default:
		return "is not a regular file"
	}
	return "is " + kind + ", not a regular file"
}

func tooLarge() error {
	return fmt.Errorf("the file is larger than %d bytes (%d MiB)", MaxFileSize, MaxFileSize>>20)
}

// withoutPath drops the path from a *fs.PathError: the caller names the
// file once.
func withoutPath(err error) error {
	if pe, ok := errors.AsType[*fs.PathError](err); ok {
		return pe.Err
	}
	return err
}

// Parse parses and validates a directory file. On any problem it returns
// no directory and an *Error with the problems found.
//
// YAML anchors and aliases (&name, *name) and merge keys (<<) are refused:
// an alias costs a few bytes in the file and a whole list each time it is
// followed, so a small file could make every replica reading it run out of
// memory; and a directory is short enough to write out.
func Parse(data []byte) (*Directory, error) {
	p := &parser{}
	d := p.parse(data)
	if len(p.problems) > 0 {
		err := &Error{Problems: p.problems, omitted: p.omitted}
		if p.omitted > 0 {
			err.Problems = append(err.Problems, fmt.Sprintf("… and %d more problems", p.omitted))
		}
		return nil, err
	}
	d.sum = sha256.Sum256(data)
	return d, nil
}

// parser collects the problems of one file while it builds the directory.
type parser struct {
	problems []string
	omitted  int // problems beyond maxProblems, counted only
}

// add records a problem of the entry where (empty for the top level) at the
// line of n.
func (p *parser) add(where string, n *yaml.Node, format string, args ...any) {
	if len(p.problems) >= maxProblems {
		p.omitted++ // counted, not written: args with a String method stay unworked
		return
	}
	msg := fmt.Sprintf(format, args...)
	if where != "" {
		msg = where + ": " + msg
	}
	if n != nil && n.Line > 0 {
		msg += fmt.Sprintf(" (line %d)", n.Line)
	}
	p.problems = append(p.problems, msg)
}

func (p *parser) parse(data []byte) *Directory {
	d := &Directory{byName: map[string]int{}, agents: map[string]Agent{}}
	if len(data) > MaxFileSize {
		p.add("", nil, "%v", tooLarge())
		return d
	}
	if len(bytes.TrimSpace(data)) == 0 {
		p.add("", nil, "the file is empty: give destinations, agents and typed (see directory.example.yaml)")
		return d
	}
	if w := valueBound(data); w > MaxValues {
		p.add("", nil, "the file has too many keys, values and list items for a directory: counting each word and each - ? : , [ ] { } gives %d, more than the %d allowed", w, MaxValues)
		return d
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			p.add("", nil, "the file has no content, only comments: give destinations, agents and typed (see directory.example.yaml)")
		} else {
			p.add("", nil, "not valid YAML: %s", strings.TrimPrefix(err.Error(), "yaml: "))
		}
		return d
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		p.add("", &extra, "the file holds more than one YAML document (a second ---): keep everything in one")
		return d
	}
	if p.plain(&doc); len(p.problems) > 0 {
		return d
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind != yaml.MappingNode {
		p.add("", root, "the file must be a mapping with the keys destinations, agents and typed")
		return d
	}
	top := p.fields("", root, "destinations", "agents", "typed")
	p.destinations(d, top["destinations"])
	p.agents(d, top["agents"])
	p.typed(d, top["typed"])
	if len(p.problems) == 0 && len(d.destinations) == 0 && !d.typed.Allow {
		p.add("", root, "there are no destinations and typed.allow is not true, so nothing could be transferred: add destinations, or set typed.allow: true")
	}
	return d
}

// valueBound is at least the number of nodes the YAML library builds for
// data, whatever data holds, and under twice it for a directory's entries. Every node but
// the document and the top mapping either starts a word (a run of
// printable ASCII between blanks and flow indicators) or is an empty
// value marked by one of - ? : , [ ] { }; counting the words and those
// characters, without working out which are which, can count too many
// but never too few. Non-ASCII bytes, control characters and line breaks
// all end a word, so that YAML's own line breaks (NEL, LS, PS) and a
// UTF-16 file cannot hide nodes.
func valueBound(data []byte) int {
	n, inWord := 2, false
	for _, c := range data {
		switch c {
		case ',', '[', ']', '{', '}':
			n++
			inWord = false
			continue
		case '-', '?', ':':
			n++
		}
		if c <= ' ' || c >= 0x7f {
			inWord = false
		} else if !inWord {
			n++
			inWord = true
		}
	}
	return n
}

// plain refuses what the directory does not need and what could make the
// tree cost more than the file looks like: anchors, aliases, merge keys and
// nesting deeper than maxDepth. The rest of the parser can then take the
// tree as it is, without following aliases.
func (p *parser) plain(doc *yaml.Node) {
	const write = "YAML anchors and aliases (&name, *name) are not allowed in the directory file: write each list out"
	deep := false
	var walk func(n *yaml.Node, depth int)
	walk = func(n *yaml.Node, depth int) {
		// depth counts the lists and mappings n is in, the document aside.
		if depth >= maxDepth && (n.Kind == yaml.SequenceNode || n.Kind == yaml.MappingNode) {
			if !deep {
				deep = true
				p.add("", n, "lists and mappings are nested more than %d deep: a directory needs 4 (the top, destinations, an entry, its who list)", maxDepth)
			}
			return
		}
		switch {
		case n.Kind == yaml.AliasNode:
			p.add("*"+n.Value, n, write)
			return // the node it names is reported where it stands
		case n.Anchor != "":
			p.add("&"+n.Anchor, n, write)
		case n.Kind == yaml.ScalarNode && n.Tag == "!!merge":
			p.add("", n, "YAML merge keys (<<) are not allowed in the directory file: write each entry's keys out")
		}
		for _, c := range n.Content {
			walk(c, depth+1)
		}
	}
	walk(doc, -1)
}

func (p *parser) destinations(d *Directory, seq *yaml.Node) {
	items := p.sequence("destinations", seq)
	if len(items) > MaxDestinations {
		p.add("destinations", seq, "has %d entries, more than the %d allowed", len(items), MaxDestinations)
		return
	}
	lines := map[string]string{} // name → the entry that has it
	for i, n := range items {
		where := fmt.Sprintf("destinations[%d]", i)
		if n.Kind != yaml.MappingNode {
			p.add(where, n, "must be a mapping with name, label, to, role and who")
			continue
		}
		f := p.fieldsOf(n, "name", "label", "to", "role", "who", "warm")
		name, hasName := p.scalar(f.values["name"])
		if hasName {
			where += " " + echo(name)
		}
		f.check(p, where)
		dest := Destination{Role: plivo.RoleAgent}
		ok := true

		switch {
		case !hasName:
			ok = false
			if f.missing("name") || isNull(f.values["name"]) {
				p.add(where, n, "name: is missing: give the word supervisors type, like billing")
			}
		case !namePattern.MatchString(name):
			ok = false
			if lower := strings.ToLower(name); namePattern.MatchString(lower) {
				p.add(where, f.values["name"], "name: %s must be lower case: write %s", echo(name), lower)
			} else {
				p.add(where, f.values["name"], "name: %s must start with a letter a-z, then up to %d of a-z, 0-9, _ and -", echo(name), maxNameLen-1)
			}
		case isReserved(name):
			ok = false
			p.add(where, f.values["name"], "name: %s is a word /transfer uses itself (%s): choose another name", echo(name), strings.Join(Reserved, ", "))
		default:
			if first, dup := lines[name]; dup {
				ok = false
				p.add(where, f.values["name"], "name: %s is already the name of %s: names must be unique", echo(name), first)
			} else {
				lines[name] = fmt.Sprintf("destinations[%d] (line %d)", i, n.Line)
			}
		}
		dest.Name = name
		dest.Label = name

		if label, has := p.scalar(f.values["label"]); has {
			label = strings.TrimSpace(label)
			switch {
			case utf8.RuneCountInString(label) > MaxLabelLen:
				ok = false
				p.add(where, f.values["label"], "label: is %d characters long: Slack shows at most %d", utf8.RuneCountInString(label), MaxLabelLen)
			case strings.IndexFunc(label, unicode.IsControl) >= 0:
				ok = false
				p.add(where, f.values["label"], "label: must be one line of text, without control characters")
			case label != "":
				dest.Label = label
			}
		}

		if to, has := p.scalar(f.values["to"]); !has {
			ok = false
			if f.missing("to") || isNull(f.values["to"]) {
				p.add(where, n, "to: is missing: give a phone number like \"+14155550100\" or sip:user@host")
			}
		} else if ep, err := plivo.ParseEndpoint(to); err != nil {
			ok = false
			p.add(where, f.values["to"], "to: %v", err)
		} else {
			dest.To = ep
		}

		if role, has := p.scalar(f.values["role"]); has {
			r, err := plivo.ParseRole(role)
			if err != nil {
				ok = false
				p.add(where, f.values["role"], "role: %v", err)
			}
			dest.Role = r
		}

		who, whoOK := p.ids(where, "who", f.values["who"])
		ok = ok && whoOK
		dest.Who = who

		if w := f.values["warm"]; w != nil && !isNull(w) {
			var warm bool
			if w.Kind != yaml.ScalarNode || w.Tag != "!!bool" || w.Decode(&warm) != nil {
				ok = false
				p.add(where, w, "warm: must be true or false, not %s", echo(w.Value))
			}
			dest.NoWarm = !warm
		}

		if ok {
			d.byName[dest.Name] = len(d.destinations)
			d.destinations = append(d.destinations, dest)
		}
	}
}

func (p *parser) agents(d *Directory, seq *yaml.Node) {
	first := map[string]string{} // Slack id → the entry that has it
	for i, n := range p.sequence("agents", seq) {
		where := fmt.Sprintf("agents[%d]", i)
		if n.Kind != yaml.MappingNode {
			p.add(where, n, "must be a mapping with slack and endpoint")
			continue
		}
		f := p.fieldsOf(n, "slack", "endpoint")
		id, hasID := p.scalar(f.values["slack"])
		if hasID {
			where += " " + echo(id)
		}
		f.check(p, where)
		a := Agent{Slack: id}
		ok := true
		switch {
		case !hasID:
			ok = false
			if f.missing("slack") || isNull(f.values["slack"]) {
				p.add(where, n, "slack: is missing: give the agent's Slack member id, like U012AB3CD")
			}
		case !idPattern.MatchString(id) || id[0] == 'S':
			ok = false
			p.add(where, f.values["slack"], "slack: %s is not a Slack member id (U… or W…, upper-case letters and digits; profile → ⋮ → Copy member ID)", echo(id))
		default:
			if prev, dup := first[id]; dup {
				ok = false
				p.add(where, f.values["slack"], "slack: %s already has an entry, %s: give each agent one", echo(id), prev)
			} else {
				first[id] = fmt.Sprintf("agents[%d] (line %d)", i, n.Line)
			}
		}
		if s, has := p.scalar(f.values["endpoint"]); !has {
			ok = false
			if f.missing("endpoint") || isNull(f.values["endpoint"]) {
				p.add(where, n, "endpoint: is missing: give the number or SIP address the agent is on calls with")
			}
		} else if ep, err := plivo.ParseEndpoint(s); err != nil {
			ok = false
			p.add(where, f.values["endpoint"], "endpoint: %v", err)
		} else {
			a.Endpoint = ep
		}
		if ok {
			d.agents[id] = a
		}
	}
}

func (p *parser) typed(d *Directory, n *yaml.Node) {
	if n == nil || isNull(n) {
		return
	}
	const where = "typed"
	if n.Kind != yaml.MappingNode {
		p.add(where, n, "must be a mapping with allow, who, prefixes, deny_prefixes and sip_domains")
		return
	}
	f := p.fieldsOf(n, "allow", "who", "prefixes", "deny_prefixes", "sip_domains")
	f.check(p, where)
	if a := f.values["allow"]; a != nil && !isNull(a) {
		var allow bool
		if a.Kind != yaml.ScalarNode || a.Tag != "!!bool" || a.Decode(&allow) != nil {
			p.add(where, a, "allow: must be true or false, not %s", echo(a.Value))
		}
		d.typed.Allow = allow
	}
	d.typed.Who, _ = p.ids(where, "who", f.values["who"])
	d.typed.Prefixes = p.prefixes(where, "prefixes", f.values["prefixes"])
	d.typed.DenyPrefixes = p.prefixes(where, "deny_prefixes", f.values["deny_prefixes"])
	for _, s := range p.strings(where, "sip_domains", f.values["sip_domains"]) {
		host := strings.ToLower(strings.TrimSpace(s.value))
		if !isSIPHost(host) {
			p.add(where, s.node, "sip_domains: %s is not a host name, like floor.sip.plivo.com", echo(s.value))
			continue
		}
		d.typed.SIPDomains = append(d.typed.SIPDomains, host)
	}
}

// isSIPHost reports whether host is what a SIP address may have after the
// @, without a port: checked by the same parser as every endpoint.
func isSIPHost(host string) bool {
	if strings.HasPrefix(host, "[") {
		if !strings.HasSuffix(host, "]") {
			return false // a port after an IPv6 address
		}
	} else if host == "" || strings.ContainsAny(host, ":@") {
		return false
	}
	ep, err := plivo.ParseEndpoint("sip:u@" + host)
	return err == nil && ep.String() == "sip:u@"+host
}

// ids reads an optional list of Slack user (U…, W…) and user-group (S…)
// ids.
func (p *parser) ids(where, key string, n *yaml.Node) ([]string, bool) {
	var ids []string
	ok := true
	seen := map[string]bool{}
	for _, s := range p.strings(where, key, n) {
		id := strings.TrimSpace(s.value)
		if !idPattern.MatchString(id) {
			ok = false
			p.add(where, s.node, "%s: %s is not a Slack user (U…, W…) or user-group (S…) id", key, echo(s.value))
			continue
		}
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	return ids, ok
}

func (p *parser) prefixes(where, key string, n *yaml.Node) []string {
	var out []string
	for _, s := range p.strings(where, key, n) {
		v := strings.TrimSpace(s.value)
		if !prefixPattern.MatchString(v) {
			p.add(where, s.node, "%s: %s is not a number prefix: write + and the first digits, like \"+44\"", key, echo(s.value))
			continue
		}
		out = append(out, v)
	}
	return out
}

// scalarAt is a scalar of a list, with its node for the line.
type scalarAt struct {
	value string
	node  *yaml.Node
}

// strings reads an optional list of scalars.
func (p *parser) strings(where, key string, n *yaml.Node) []scalarAt {
	if n == nil || isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		p.add(where, n, "%s: must be a list, like [%s]", key, exampleOf[key])
		return nil
	}
	out := make([]scalarAt, 0, len(n.Content))
	for _, item := range n.Content {
		if item.Kind != yaml.ScalarNode || isNull(item) {
			p.add(where, item, "%s: each item must be a single value, like %s", key, exampleOf[key])
			continue
		}
		out = append(out, scalarAt{item.Value, item})
	}
	return out
}

var exampleOf = map[string]string{
	"who":           "S0LEADS",
	"prefixes":      `"+1"`,
	"deny_prefixes": `"+1900"`,
	"sip_domains":   "floor.sip.plivo.com",
}

// sequence returns the entries of the list n, which may be absent or empty.
func (p *parser) sequence(key string, n *yaml.Node) []*yaml.Node {
	if n == nil || isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		p.add(key, n, "must be a list of entries, each starting with -")
		return nil
	}
	return n.Content
}

// scalar returns the text of the scalar n, and false when n is absent or
// null. A value that is not a scalar is reported by check's caller through
// fieldSet.check, so here it only counts as absent.
func (p *parser) scalar(n *yaml.Node) (string, bool) {
	if n == nil {
		return "", false
	}
	if n.Kind != yaml.ScalarNode || isNull(n) {
		return "", false
	}
	return n.Value, true
}

// fieldSet is a mapping's values by key, with the problems of its keys kept
// until the entry's name is known. A key given with a value of the wrong
// kind is present but has no value.
type fieldSet struct {
	values  map[string]*yaml.Node
	present map[string]bool
	pending []func(p *parser, where string)
}

// missing reports whether key was not given at all.
func (f fieldSet) missing(key string) bool { return !f.present[key] }

func (f fieldSet) check(p *parser, where string) {
	for _, report := range f.pending {
		report(p, where)
	}
}

// fields reads the top-level mapping n and reports its problems at once.
func (p *parser) fields(where string, n *yaml.Node, known ...string) map[string]*yaml.Node {
	f := p.fieldsOf(n, known...)
	f.check(p, where)
	return f.values
}

// fieldsOf reads the mapping n, whose keys must be among known, each once,
// with single values where a scalar is expected. Problems are reported by
// check, once the caller knows how to name the entry.
func (p *parser) fieldsOf(n *yaml.Node, known ...string) fieldSet {
	f := fieldSet{values: map[string]*yaml.Node{}, present: map[string]bool{}}
	lineOf := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key := k.Value
		if k.Kind != yaml.ScalarNode {
			f.pending = append(f.pending, func(p *parser, where string) {
				p.add(where, k, "a key must be a plain word, one of %s", strings.Join(known, ", "))
			})
			continue
		}
		if !slices.Contains(known, key) {
			f.pending = append(f.pending, func(p *parser, where string) {
				p.add(where, k, "unknown key %s: %vthe keys are %s", echo(key), hint{key, known}, strings.Join(known, ", "))
			})
			continue
		}
		if line, dup := lineOf[key]; dup {
			f.pending = append(f.pending, func(p *parser, where string) {
				p.add(where, k, "%s is given twice (first on line %d)", key, line)
			})
			continue
		}
		lineOf[key] = k.Line
		f.present[key] = true
		if !listKeys[key] && !mappingKeys[key] && v.Kind != yaml.ScalarNode {
			f.pending = append(f.pending, func(p *parser, where string) {
				p.add(where, v, "%s: must be a single value, not a list or a mapping", key)
			})
			continue
		}
		f.values[key] = v
	}
	return f
}

// hint is "did you mean …? " for a mistyped key, or nothing. It is worked
// out when the problem is written, so not for the problems only counted.
type hint struct {
	key   string
	known []string
}

func (h hint) String() string {
	if s, ok := closest(h.key, h.known); ok {
		return "did you mean " + s + "? "
	}
	return ""
}

// listKeys and mappingKeys are the keys whose values are not single values.
var (
	listKeys    = map[string]bool{"destinations": true, "agents": true, "who": true, "prefixes": true, "deny_prefixes": true, "sip_domains": true}
	mappingKeys = map[string]bool{"typed": true}
)

func isNull(n *yaml.Node) bool {
	if n == nil {
		return false
	}
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

func isReserved(name string) bool { return slices.Contains(Reserved, name) }

// echo quotes a value from the file for a problem, cut after maxEcho
// characters.
func echo(s string) string {
	cut, runes := 0, 0
	for cut < len(s) && runes < maxEcho {
		_, size := utf8.DecodeRuneInString(s[cut:])
		cut += size
		runes++
	}
	if cut < len(s) {
		return strconv.Quote(s[:cut]) + "…"
	}
	return strconv.Quote(s)
}
