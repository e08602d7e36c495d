package main

import (
	"context"
	"encoding/json"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseStatCPU(t *testing.T) {
	tests := []struct {
		name    string
		stat    string
		want    int64
		wantErr bool
	}{
		{"plain", "1234 (bot) S 1 1234 1234 0 -1 4194560 500 0 0 0 250 37 0 0 20 0 9 0 100 0 0", 287, false},
		{"name with spaces and parens", "99 (a (b) c) R 1 99 99 0 -1 0 0 0 0 0 7 3 0 0 20 0 1 0 5 0 0", 10, false},
		{"no name", "99 a R 1", 0, true},
		{"too short", "99 (bot) S 1 2 3", 0, true},
		{"not a number", "99 (bot) S 1 1 1 0 -1 0 0 0 0 0 x 3 0 0", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStatCPU([]byte(tt.stat))
			if (err != nil) != tt.wantErr {
				t.Fatalf("parseStatCPU(%q) error = %v, want error %v", tt.stat, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("parseStatCPU(%q) = %d ticks, want %d (utime+stime)", tt.stat, got, tt.want)
			}
		})
	}
}

func TestAnsweredInAck(t *testing.T) {
	tests := []struct {
		payload string
		want    bool
	}{
		{"", false},
		{"null", false},
		{"{}", false}, // Bolt's plain ack
		{" {} ", false},
		{`{"response_type":"ephemeral","text":"busy"}`, true},
	}
	for _, tt := range tests {
		var p json.RawMessage
		if tt.payload != "" {
			p = json.RawMessage(tt.payload)
		}
		if got := answeredInAck(p); got != tt.want {
			t.Errorf("answeredInAck(%q) = %v, want %v", tt.payload, got, tt.want)
		}
	}
}

func TestMedianAndSpread(t *testing.T) {
	tests := []struct {
		vs         []float64
		med        float64
		spreadText string
	}{
		{[]float64{3}, 3, "3.00"},
		{[]float64{3, 1, 2}, 2, "2.00 (1.00–3.00)"},
		{[]float64{4, 1, 3, 2}, 2, "2.00 (1.00–4.00)"},
		{[]float64{0.5, 120, 12}, 12, "12.0 (0.500–120)"},
	}
	for _, tt := range tests {
		if got := median(tt.vs); got != tt.med {
			t.Errorf("median(%v) = %v, want %v", tt.vs, got, tt.med)
		}
		if got := spread(tt.vs); got != tt.spreadText {
			t.Errorf("spread(%v) = %q, want %q", tt.vs, got, tt.spreadText)
		}
	}
}

func TestPeerTableNeverComparesWithLikeForLike(t *testing.T) {
	impls := []impl{{name: "coldtransfer"}, {name: "refbot", peer: true}, {name: "refbot + libraries", peer: true, likeForLike: true}}
	cells := map[string]map[string]*cell{figRSSIdle: {
		"coldtransfer":       {values: []float64{12}},
		"refbot":             {values: []float64{10}},
		"refbot + libraries": {values: []float64{8}}, // lower, so that counting it would change the ratio
	}}
	var out strings.Builder
	printPeerTable(&out, impls, cells, scenarioParams{only: "d"})
	line := ""
	for _, l := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(l, "d. RSS idle ") {
			line = l
		}
	}
	if !strings.Contains(line, "1.20× behind") {
		t.Errorf("RSS idle row %q: want 1.20× behind (against refbot, not the like-for-like build)", line)
	}
}

func TestWriteRefbotLibraries(t *testing.T) {
	refbot, src := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(refbot, "main.go"), []byte("package main\n\nfunc main() {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writeRefbotLibraries(context.Background(), refbot, src); err != nil {
		t.Fatalf("writeRefbotLibraries: %v", err)
	}
	gomod, err := os.ReadFile(filepath.Join(src, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(gomod), "module refbotlibraries\n") || !strings.Contains(string(gomod), "github.com/prometheus/client_golang") {
		t.Errorf("go.mod begins %q: want coldtransfer's requirements under module refbotlibraries", firstLine(string(gomod)))
	}
	for _, name := range []string{"main.go", "zz_libraries.go", "go.sum"} {
		if _, err := os.Stat(filepath.Join(src, name)); err != nil {
			t.Errorf("%s not written: %v", name, err)
		}
	}
	f, err := parser.ParseFile(token.NewFileSet(), "zz_libraries.go", refbotLibraries, parser.ImportsOnly)
	if err != nil {
		t.Fatalf("the libraries' file does not parse: %v", err)
	}
	if f.Name.Name != "main" {
		t.Errorf("the libraries' file is package %s, want main (refbot's)", f.Name.Name)
	}
}

func TestParseSchedstat(t *testing.T) {
	got, err := parseSchedstat([]byte("1686125 20345 17\n"))
	if err != nil || got != 1686125*time.Nanosecond {
		t.Errorf("parseSchedstat = %v, %v; want 1.686125ms (the run time, first field)", got, err)
	}
	for _, bad := range []string{"", "\n", "x 1 2"} {
		if _, err := parseSchedstat([]byte(bad)); err == nil {
			t.Errorf("parseSchedstat(%q): no error", bad)
		}
	}
}

func TestSchedstatAgreesWithStat(t *testing.T) {
	if _, err := os.Stat("/proc/self/task"); err != nil {
		t.Skip("no /proc")
	}
	before, err := schedstatCPU(os.Getpid())
	if err != nil {
		t.Skipf("no schedstat: %v", err)
	}
	// Some CPU time to count: spin until 30 ms more of it were spent (CPU
	// time, not the clock's: on a busy machine it only takes longer).
	precise := before
	for precise-before < 30*time.Millisecond {
		if precise, err = schedstatCPU(os.Getpid()); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		t.Fatal(err)
	}
	ticks, err := parseStatCPU(data)
	if err != nil {
		t.Fatal(err)
	}
	coarse := time.Duration(ticks) * time.Second / userHZ
	// The ticks round the same time; threads that have exited count in
	// stat alone (the test binary's are few).
	if precise > coarse+50*time.Millisecond {
		t.Errorf("schedstat says %v of CPU, stat %v: want them within a few ticks", precise, coarse)
	}
}
