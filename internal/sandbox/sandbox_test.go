package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/coldtransfer/coldtransfer/internal/plivo"
	"github.com/coldtransfer/coldtransfer/internal/sandbox/screen"
)

func TestScanLines(t *testing.T) {
	long := strings.Repeat("x", maxLine)
	broken := errors.New("input/output error")
	tests := []struct {
		name string
		in   io.Reader
		want []inputLine
	}{
		{
			name: "lines, CRLF, and a last line without an ending",
			in:   strings.NewReader("one\r\n\ntwo\nthree"),
			want: []inputLine{{n: 1, text: "one"}, {n: 2}, {n: 3, text: "two"}, {n: 4, text: "three"}},
		},
		{
			name: "a line of exactly the limit is kept",
			in:   strings.NewReader(long + "\r\nnext\n"),
			want: []inputLine{{n: 1, text: long}, {n: 2, text: "next"}},
		},
		{
			name: "a longer line is skipped, and the next ones still come",
			in:   strings.NewReader("first\n" + long + "xy\nnext\n" + long + "z"),
			want: []inputLine{{n: 1, text: "first"}, {n: 2, tooLong: maxLine + 3}, {n: 3, text: "next"}, {n: 4, tooLong: maxLine + 1}},
		},
		{
			name: "a read error ends the input, said so",
			in:   io.MultiReader(strings.NewReader("one\ntw"), iotest.ErrReader(broken)),
			want: []inputLine{{n: 1, text: "one"}, {n: 2, err: broken}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			done := make(chan struct{})
			defer close(done)
			var got []inputLine
			for l := range scanLines(tt.in, done) {
				got = append(got, l)
			}
			if !slices.EqualFunc(got, tt.want, func(a, b inputLine) bool {
				return a.n == b.n && a.text == b.text && a.tooLong == b.tooLong && errors.Is(a.err, b.err)
			}) {
				t.Errorf("lines (text cut to 20 bytes):\n%s\nwant\n%s", showLines(got), showLines(tt.want))
			}
		})
	}
}

func showLines(ls []inputLine) string {
	var b strings.Builder
	for _, l := range ls {
		fmt.Fprintf(&b, "  %d %.20q tooLong=%d err=%v\n", l.n, l.text, l.tooLong, l.err)
	}
	return b.String()
}

func TestParseFormValues(t *testing.T) {
	tests := []struct {
		in      string
		want    map[string]string
		wantErr bool
	}{
		{in: "", want: map[string]string{}},
		{in: "to=+1 415 555 0100 agent=+1 415 222 3333 role=customer",
			want: map[string]string{"to": "+1 415 555 0100", "agent": "+1 415 222 3333", "role": "customer"}},
		{in: "FROM=@alice   To=billing", want: map[string]string{"agent": "@alice", "to": "billing"}},
		{in: "to= agent=x", want: map[string]string{"to": "", "agent": "x"}},
		{in: "billing", wantErr: true},
		{in: "x to=billing", wantErr: true},
		{in: "to=a to=b", wantErr: true},
		{in: "agent=a from=b", wantErr: true},
	}
	for _, tt := range tests {
		got, err := parseFormValues(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("parseFormValues(%q) error %v, want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if !tt.wantErr && !mapsEqual(got, tt.want) {
			t.Errorf("parseFormValues(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestParseSteering(t *testing.T) {
	const id = "5a4d0e00-0000-4000-8000-000000000001"
	tests := []struct {
		args       string
		wantStatus int
		wantBody   string
		wantDelay  time.Duration
		wantHijack bool
		wantWhat   string
		wantNormal bool
		wantErr    bool
	}{
		{args: "500", wantStatus: 500, wantBody: `{"api_id":"` + id + `","error":"internal server error"}`,
			wantWhat: `500 Internal Server Error {"api_id":"` + id + `","error":"internal server error"}`},
		{args: "404", wantStatus: 404, wantBody: "{}", wantWhat: "404 Not Found {}"},
		{args: "400 to is a mandatory param.", wantStatus: 400, wantBody: `{"api_id":"` + id + `","error":"to is a mandatory param."}`},
		{args: "201 oops", wantStatus: 201, wantBody: `{"api_id":"` + id + `","error":"oops"}`},
		{args: "429", wantStatus: 429, wantBody: `{"api_id":"` + id + `","error":"too many requests"}`},
		{args: "timeout", wantDelay: time.Hour, wantWhat: "no answer (the bot gives up after PLIVO_TIMEOUT, 2s here)"},
		{args: "hangup", wantHijack: true},
		{args: "html", wantStatus: 502, wantBody: proxyPage},
		{args: "OK", wantNormal: true},
		{args: "ok please", wantErr: true},
		{args: "", wantErr: true},
		{args: "teapot", wantErr: true},
		{args: "199", wantErr: true},
		{args: "600", wantErr: true},
	}
	for _, tt := range tests {
		s, normal, err := parseSteering(strings.Fields(tt.args), id)
		if (err != nil) != tt.wantErr || normal != tt.wantNormal {
			t.Errorf("plivo %s: normal %v, error %v; want normal %v, error %v", tt.args, normal, err, tt.wantNormal, tt.wantErr)
			continue
		}
		if s.resp.Status != tt.wantStatus || s.resp.Body != tt.wantBody || s.resp.Delay != tt.wantDelay || s.resp.Hijack != tt.wantHijack {
			t.Errorf("plivo %s: response %+v", tt.args, s.resp)
		}
		if tt.wantWhat != "" && s.what != tt.wantWhat {
			t.Errorf("plivo %s: described as %q, want %q", tt.args, s.what, tt.wantWhat)
		}
		if !tt.wantErr && !tt.wantNormal && s.what == "" {
			t.Errorf("plivo %s: no description", tt.args)
		}
	}
	if s, _, _ := parseSteering([]string{"429"}, id); s.resp.Header.Get("Retry-After") != "1" {
		t.Errorf("plivo 429: Retry-After %q, want 1", s.resp.Header.Get("Retry-After"))
	}
}

// TestFloorNames checks the names the screen gets of the floor: people by
// id and by name (any case, with or without @), and #floor.
func TestFloorNames(t *testing.T) {
	var names screen.Names = floor{}
	if name, ok := names.User("U0ALICE"); !ok || name != "alice" {
		t.Errorf("User(U0ALICE) = %q, %v", name, ok)
	}
	if _, ok := names.User("UOTHER"); ok {
		t.Error("User(UOTHER) is somebody")
	}
	if id, name, ok := names.UserNamed("@Bob"); !ok || id != "U0BOB" || name != "bob" {
		t.Errorf("UserNamed(@Bob) = %q, %q, %v", id, name, ok)
	}
	if _, _, ok := names.UserNamed("nobody"); ok {
		t.Error("UserNamed(nobody) is somebody")
	}
	if name, ok := names.Channel(channelID); !ok || name != channelName {
		t.Errorf("Channel(%s) = %q, %v", channelID, name, ok)
	}
	if _, ok := names.Channel("COTHER"); ok {
		t.Error("Channel(COTHER) is a channel")
	}
}

func TestBotLogKeepsAuditLines(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "bot.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	l := newBotLog(f)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	got := make(chan []byte, 1)
	go func() {
		line, err := l.waitAudit(ctx, 0)
		if err != nil {
			t.Error(err)
		}
		got <- line
	}()
	// A line split across writes, and lines that are not audit lines.
	for _, w := range []string{`{"msg":"starting"}` + "\n" + `{"msg":"tra`, `nsfer","outcome":"refused"}` + "\n", "not json\n"} {
		if _, err := l.Write([]byte(w)); err != nil {
			t.Fatal(err)
		}
	}
	if line := <-got; string(line) != `{"msg":"transfer","outcome":"refused"}` {
		t.Errorf("audit line %q", line)
	}
	if l.count() != 1 || l.audit(1) != nil {
		t.Errorf("count %d, want 1", l.count())
	}
	data, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"msg":"starting"}` + "\n" + `{"msg":"transfer","outcome":"refused"}` + "\nnot json\n"; string(data) != want {
		t.Errorf("file %q, want %q", data, want)
	}
}

// TestDirectoryEndpoints checks every endpoint of the sample directory with
// the bot's own parser, as the directory loader will.
func TestDirectoryEndpoints(t *testing.T) {
	yaml := directoryYAML()
	for _, d := range destinations {
		if _, err := plivo.ParseEndpoint(d.to); err != nil {
			t.Errorf("destination %s: %v", d.name, err)
		}
		if !strings.Contains(yaml, "- name: "+d.name+"\n") || !strings.Contains(yaml, `to: "`+d.to+`"`) {
			t.Errorf("destination %s missing from the file:\n%s", d.name, yaml)
		}
	}
	for _, p := range people {
		if p.agentAt == "" {
			continue
		}
		if _, err := plivo.ParseEndpoint(p.agentAt); err != nil {
			t.Errorf("agent %s: %v", p.name, err)
		}
		if !strings.Contains(yaml, "- slack: "+p.id) {
			t.Errorf("agent %s missing from the file:\n%s", p.name, yaml)
		}
	}
	for _, name := range []string{"supervisor", "lead"} {
		if p, _ := personNamed(name); p.agentAt == "" {
			t.Errorf("@%s may transfer but has no agent entry: \"from me\", which the bot suggests, would not work", name)
		}
	}
	if !strings.Contains(yaml, "typed:\n  allow: true\n  who: ["+people[0].id+"]") {
		t.Errorf("typed numbers are not allowed to the supervisor:\n%s", yaml)
	}
}
