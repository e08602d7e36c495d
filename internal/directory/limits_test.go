package directory

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf16"

	"go.yaml.in/yaml/v3"
)

// aliasBomb is a file of dests destinations that all share one who list
// through an anchor, padded with ids to about size bytes: small on disk,
// huge once every alias is followed.
func aliasBomb(size, dests int) []byte {
	var b strings.Builder
	b.WriteString("destinations:\n  - name: d0\n    to: '+14150000000'\n    who: &w [U00000000")
	tail := 0
	for i := 1; i < dests; i++ {
		tail += len(fmt.Sprintf("  - name: d%d\n    to: '+1415%07d'\n    who: *w\n", i, i))
	}
	for i := 1; b.Len()+tail+len("]\n") < size-11; i++ {
		fmt.Fprintf(&b, ", U%08d", i)
	}
	b.WriteString("]\n")
	for i := 1; i < dests; i++ {
		fmt.Fprintf(&b, "  - name: d%d\n    to: '+1415%07d'\n    who: *w\n", i, i)
	}
	return []byte(b.String())
}

// ordinaryAtCap is a good file just under MaxFileSize, of the kind a large
// floor writes: destinations written out in blocks, with a label, a role
// and a short who list each, filling about half the file, then as many
// agents as fit.
func ordinaryAtCap() []byte {
	var b strings.Builder
	b.WriteString("# the floor directory\ndestinations:\n")
	for i := 0; i < MaxDestinations && b.Len() < MaxFileSize/2; i++ {
		fmt.Fprintf(&b, "  - name: queue-%d\n    label: Queue %d\n    to: '+1415%07d'\n    role: agent\n    who: [S0LEADS, U%08d]\n", i, i, i, i)
	}
	b.WriteString("agents:\n")
	for i := 0; ; i++ {
		entry := fmt.Sprintf("  - slack: U%08d\n    endpoint: 'sip:agent%d@floor.sip.plivo.com'\n", i, i)
		if b.Len()+len(entry)+len("typed: {allow: false}\n") > MaxFileSize {
			break
		}
		b.WriteString(entry)
	}
	b.WriteString("typed: {allow: false}\n")
	return []byte(b.String())
}

// compactAtCap is a good file just under MaxFileSize with MaxDestinations
// destinations, one line each, then agents, one line each.
func compactAtCap() []byte {
	var b strings.Builder
	b.WriteString("destinations:\n")
	for i := range MaxDestinations {
		fmt.Fprintf(&b, "  - {name: queue-%d, to: '+1415%07d', who: [S0LEADS]}\n", i, i)
	}
	b.WriteString("agents:\n")
	for i := 0; ; i++ {
		entry := fmt.Sprintf("  - {slack: U%08d, endpoint: 'sip:agent%d@floor.sip.plivo.com'}\n", i, i)
		if b.Len()+len(entry) > MaxFileSize {
			break
		}
		b.WriteString(entry)
	}
	return []byte(b.String())
}

// dense is head, as many units as fit under MaxFileSize, and end.
func dense(head, unit, end string) string {
	n := (MaxFileSize - len(head) - len(end)) / len(unit)
	return head + strings.Repeat(unit, n) + end
}

// The review's file: one anchored who list reused by 200 destinations took
// seconds and hundreds of MB to parse. It is refused without following one
// alias, with the first problems listed and the rest counted.
func TestAliasBombIsRefused(t *testing.T) {
	_, err := Parse(aliasBomb(900<<10, 200))
	derr, ok := errors.AsType[*Error](err)
	if !ok {
		t.Fatalf("Parse = %v, want an *Error", err)
	}
	want := []string{
		"&w: YAML anchors and aliases (&name, *name) are not allowed in the directory file: write each list out (line 4)",
		"*w: YAML anchors and aliases (&name, *name) are not allowed in the directory file: write each list out (line 7)",
	}
	if len(derr.Problems) != maxProblems+1 || derr.Problems[0] != want[0] || derr.Problems[1] != want[1] {
		t.Fatalf("%d problems, starting %q; want %d, starting %q", len(derr.Problems), derr.Problems[:min(2, len(derr.Problems))], maxProblems+1, want)
	}
	if last := derr.Problems[maxProblems]; last != "… and 180 more problems" || derr.count() != 200 {
		t.Errorf("last problem %q, count %d; want \"… and 180 more problems\", 200", last, derr.count())
	}
}

// A file with many mistakes lists the first 20 and counts the rest, in the
// error and in the log line of a refused reload.
func TestProblemsAreCapped(t *testing.T) {
	cases := []struct {
		name  string
		bad   int
		lines int    // problems listed
		last  string // the last line
	}{
		{"under the cap", maxProblems - 1, maxProblems - 1, `destinations[18] "d18": to: "+1415" has 4 digits`},
		{"at the cap", maxProblems, maxProblems, `destinations[19] "d19": to: "+1415" has 4 digits`},
		{"one over", maxProblems + 1, maxProblems + 1, "… and 1 more problems"},
		{"many over", 5000, maxProblems + 1, "… and 4980 more problems"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			b.WriteString("destinations:\n")
			for i := range tc.bad {
				fmt.Fprintf(&b, "  - {name: d%d, to: '+1415'}\n", i)
			}
			_, err := Parse([]byte(b.String()))
			derr, ok := errors.AsType[*Error](err)
			if !ok {
				t.Fatalf("Parse = %v, want an *Error", err)
			}
			if len(derr.Problems) != tc.lines || !strings.HasPrefix(derr.Problems[tc.lines-1], tc.last) || derr.count() != tc.bad {
				t.Errorf("%d problems ending %q, count %d; want %d ending %q, count %d",
					len(derr.Problems), derr.Problems[len(derr.Problems)-1], derr.count(), tc.lines, tc.last, tc.bad)
			}
		})
	}

	w := newWatched(t, filepath.Join(t.TempDir(), "d.yaml"), fileWith("+14155550100"))
	writeFile(t, w.path, "destinations:\n"+strings.Repeat("  - {name: list, to: '+14155550100'}\n", 25))
	if err := w.src.reload("request"); err == nil {
		t.Fatal("Reload took a bad file")
	}
	line := w.logs.FilterMessage("directory file refused; the previous directory stays in force").All()[0].ContextMap()
	if problems, _ := line["problems"].([]any); len(problems) != maxProblems+1 || line["problem_count"] != int64(25) {
		t.Errorf("logged %d problems, problem_count %v; want %d and 25", len(problems), line["problem_count"], maxProblems+1)
	}
}

// within runs f and fails the test if it has not returned after waitTimeout:
// what it checks must not block, however long the machine takes.
func within(t *testing.T, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(waitTimeout):
		t.Fatalf("%s blocked", what)
	}
}

func mkfifo(t *testing.T, path string) {
	t.Helper()
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
}

// A named pipe at the path is refused at once, at start-up and at every
// reload, rather than waiting for a writer while holding up the bot.
func TestNamedPipeIsRefusedWithoutBlocking(t *testing.T) {
	const want = "is a named pipe, not a regular file"
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.yaml")
	mkfifo(t, fifo)
	link := filepath.Join(dir, "link.yaml")
	if err := os.Symlink("fifo.yaml", link); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{fifo, link} {
		var err error
		within(t, "Load of a named pipe", func() { _, err = Load(path) })
		if err == nil || err.Error() != want {
			t.Errorf("Load(%s) = %v, want %q", filepath.Base(path), err, want)
		}
	}

	w := newWatched(t, filepath.Join(dir, "d.yaml"), fileWith("+14155550100"))
	before := w.src.Current()
	hup := make(chan os.Signal, 1)
	w.watch(hup, time.Hour)
	mkfifo(t, w.path+".tmp")
	if err := os.Rename(w.path+".tmp", w.path); err != nil {
		t.Fatal(err)
	}

	var err error
	within(t, "Reload of a named pipe", func() { err = w.src.reload("request") })
	if err == nil || err.Error() != want {
		t.Errorf("Reload = %v, want %q", err, want)
	}
	if w.nextReload() {
		t.Error("OnReload(true) for a named pipe")
	}
	hup <- os.Interrupt
	if w.nextReload() {
		t.Error("OnReload(true) for a named pipe on SIGHUP")
	}
	within(t, "a poll of a named pipe", w.src.poll)
	if w.src.Current() != before {
		t.Error("the directory in force changed")
	}
	lines := w.logs.FilterMessage("directory file refused; the previous directory stays in force").All()
	if len(lines) != 2 || lines[1].ContextMap()["trigger"] != "SIGHUP" {
		t.Fatalf("want two refusals, the second on SIGHUP; got %d", len(lines))
	}
	if problems, _ := lines[1].ContextMap()["problems"].([]any); len(problems) != 1 || problems[0] != want {
		t.Errorf("logged problems %q, want %q", problems, want)
	}
}

func TestReadFileRefusesDevices(t *testing.T) {
	if _, err := os.Stat("/dev/null"); err != nil {
		t.Skip("no /dev/null")
	}
	var err error
	within(t, "Load of a device", func() { _, err = Load("/dev/null") })
	if want := "is a character device, not a regular file"; err == nil || err.Error() != want {
		t.Errorf("Load(/dev/null) = %v, want %q", err, want)
	}
}

// A read that started earlier never replaces the outcome of one that
// started later: reloads read the file without a lock and may overlap.
func TestOverlappingReadsApplyInOrder(t *testing.T) {
	s := &Source{}
	for _, step := range []struct {
		seq  uint64
		want bool
	}{{1, true}, {3, true}, {2, false}, {3, true}, {4, true}} {
		if got := s.current(step.seq); got != step.want {
			t.Errorf("current(%d) = %v after %d, want %v", step.seq, got, s.used, step.want)
		}
	}
}

// Good files at the size cap parse; what it costs is logged, not asserted,
// since the machine running the test may be busy.
func TestGoodFilesAtTheCapParse(t *testing.T) {
	cases := []struct {
		name string
		data []byte
	}{
		{"blocks", ordinaryAtCap()},
		{"one line each, every destination", compactAtCap()},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if len(tc.data) < MaxFileSize-200 || len(tc.data) > MaxFileSize {
				t.Fatalf("the file has %d bytes, want just under %d", len(tc.data), MaxFileSize)
			}
			start := time.Now()
			d, err, held, peak := parseCost(tc.data)
			took := time.Since(start)
			if err != nil {
				t.Fatalf("Parse refused a good file:\n%v", err)
			}
			if want := bytes.Count(tc.data, []byte("  - {name: ")) + bytes.Count(tc.data, []byte("  - name: ")); len(d.Destinations()) != want {
				t.Errorf("%d destinations, want %d", len(d.Destinations()), want)
			}
			t.Logf("%d bytes, %d destinations, %d agents, value bound %d: %v, heap peak +%.1f MB, held %.1f MB",
				len(tc.data), len(d.Destinations()), d.NumAgents(), valueBound(tc.data), took.Round(time.Millisecond), mb(peak), mb(held))
		})
	}
}

func mb(n uint64) float64 { return float64(n) / (1 << 20) }

// nodes counts the YAML nodes of every document in data, as the library
// builds them, and whether data was YAML at all.
func nodes(data []byte) (int, bool) {
	var count func(n *yaml.Node) int
	count = func(n *yaml.Node) int {
		c := 1
		for _, k := range n.Content {
			c += count(k)
		}
		return c
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	total := 0
	for range len(data) + 2 {
		var doc yaml.Node
		if err := dec.Decode(&doc); err != nil {
			return total, total > 0 || err.Error() == "EOF"
		}
		total += count(&doc)
	}
	panic(fmt.Sprintf("more documents than bytes in %q", data))
}

func utf16LE(s string) []byte {
	b := []byte{0xFF, 0xFE}
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u), byte(u>>8))
	}
	return b
}

// FuzzValueBound: valueBound never counts fewer nodes than the YAML
// library builds, or a dense file could get past it.
func FuzzValueBound(f *testing.F) {
	for _, s := range []string{
		sample, "a:\nb:\n", "?\n?\n", "? \n: \n", "{a,b,c}", "[a,b,c]", "[a: ]", "[:]", "[? ]", "-\n-\n", "- - - :\n",
		"--- a\n--- b\n---\n", "{\"a\":b, 'c':d}", "!!str\n", "- !!str\n- &a\n- *a\n", "a: |\n  x, y, z\n",
		"a:\u0085b:\u0085c:\u0085", "-\u2028-\u2028-\u2029-", "[a,\u2028b]", string(utf16LE("a:\nb:\nc:\n")), string(utf16LE("-\u0085-\u0085-")),
		"{a: {b: {c: [d, {e}]}}}", "x: &a [*a]\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if n, ok := nodes(data); ok && n > valueBound(data) {
			t.Fatalf("%d nodes, valueBound %d", n, valueBound(data))
		}
	})
}

// parseCost is what parsing data costs: the heap the result holds once
// parsed, and the most the heap held while parsing (sampled), both above
// what it held before.
func parseCost(data []byte) (d *Directory, err error, held, peak uint64) {
	heap := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() uint64 {
		metrics.Read(heap)
		return heap[0].Value.Uint64()
	}
	runtime.GC()
	base := read()
	stop, sampled := make(chan struct{}), make(chan uint64)
	go func() {
		high := base
		tick := time.NewTicker(200 * time.Microsecond)
		defer tick.Stop()
		for {
			high = max(high, read())
			select {
			case <-stop:
				sampled <- max(high, read())
				return
			case <-tick.C:
			}
		}
	}()
	d, err = Parse(data)
	close(stop)
	peak = <-sampled - base
	runtime.GC()
	held = read() - min(read(), base)
	runtime.KeepAlive(d)
	return d, err, held, peak
}

// benchmarkParse reports, beside time and allocations per parse, the heap
// the result holds and the most the heap held while parsing.
func benchmarkParse(b *testing.B, data []byte) {
	b.Helper()
	b.SetBytes(int64(len(data)))
	_, _, held, peak := parseCost(data)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		_, _ = Parse(data)
	}
	b.ReportMetric(mb(held), "MB-held")
	b.ReportMetric(mb(peak), "MB-peak")
}

// go test -run '^$' -bench BenchmarkParse -benchtime 3x ./internal/directory/
func BenchmarkParseAliasBomb(b *testing.B) {
	for _, size := range []int{900 << 10, MaxFileSize} {
		b.Run(fmt.Sprintf("%dKB", size>>10), func(b *testing.B) { benchmarkParse(b, aliasBomb(size, 200)) })
	}
}

func BenchmarkParseAtCap(b *testing.B) {
	b.Run("blocks", func(b *testing.B) { benchmarkParse(b, ordinaryAtCap()) })
	b.Run("one-line-each", func(b *testing.B) { benchmarkParse(b, compactAtCap()) })
}

// Shapes with the most YAML nodes per byte, at the size cap, and the
// densest that still get past MaxValues: what the YAML library itself
// costs, whatever the directory then says of them.
func BenchmarkParseDense(b *testing.B) {
	atBound := func(head, unit, end string) string {
		return head + strings.Repeat(unit, (MaxValues-valueBound([]byte(head+end)))/valueBound([]byte(unit))) + end
	}
	cases := []struct {
		name string
		data string
	}{
		{"flow-list-of-ids", dense("destinations:\n  - name: a\n    to: '+14155550100'\n    who: [U0", ",U0", "]\n")},
		{"flow-mapping-of-keys", dense("typed: {allow: true, who: {a", ",a", "}}\n")},
		{"block-list-of-nulls", dense("typed:\n  allow: true\n  who:\n", "  -\n", "")},
		{"many-documents", dense("typed: {allow: true}\n", "---\n", "")},
		{"deep-nesting", dense("typed: {allow: true, who: ", "[", "")},
		{"at-bound/flow-list-of-ids", atBound("destinations:\n  - name: a\n    to: '+14155550100'\n    who: [U0", ",U0", "]\n")},
		{"at-bound/flow-mapping-of-keys", atBound("typed: {allow: true, who: {a", ",a", "}}\n")},
		{"at-bound/explicit-keys", atBound("typed: {allow: true}\nx:\n", "  ?\n", "")},
		{"at-bound/keys-without-values", atBound("typed: {allow: true}\nx:\n", "  a:\n", "")},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) { benchmarkParse(b, []byte(tc.data)) })
	}
}
