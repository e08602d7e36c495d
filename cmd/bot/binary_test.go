package main

import (
	"bytes"
	"debug/elf"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

// The binary as the Dockerfile builds it: CGO_ENABLED=0, built once per
// test run.
var built struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// botBinary builds ./cmd/bot with CGO_ENABLED=0 and returns its path.
func botBinary(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		built.dir, built.err = os.MkdirTemp("", "coldtransfer-bin-")
		if built.err != nil {
			return
		}
		built.path = filepath.Join(built.dir, "coldtransfer")
		gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
		if _, err := os.Stat(gobin); err != nil {
			gobin = "go"
		}
		cmd := exec.Command(gobin, "build", "-trimpath", "-ldflags=-s -w", "-o", built.path, ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			built.err = errors.New("go build: " + err.Error() + "\n" + out.String())
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.path
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// The image is distroless/static: the binary must need no dynamic loader
// and no shared library.
func TestBinaryIsStatic(t *testing.T) {
	f, err := elf.Open(botBinary(t))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		switch p.Type {
		case elf.PT_INTERP:
			t.Error("the binary has a PT_INTERP header: it needs a dynamic loader")
		case elf.PT_DYNAMIC:
			t.Error("the binary has a PT_DYNAMIC header: it is dynamically linked")
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("the binary needs shared libraries %v", libs)
	}
}

// -healthcheck of the real binary: 0 against a healthy bot, 1 otherwise.
func TestBinaryHealthcheck(t *testing.T) {
	bin := botBinary(t)
	tests := []struct {
		name string
		addr string
		want int
	}{
		{"healthy", "0.0.0.0:" + healthServer(t, 200, 0), 0},
		{"unhealthy", "127.0.0.1:" + healthServer(t, 500, 0), 1},
		{"nobody listening", "127.0.0.1:" + closedPort(t), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(bin, "-healthcheck", "-env-file", "")
			cmd.Env = []string{"HEALTH_ADDR=" + tt.addr}
			out, err := cmd.CombinedOutput()
			got := 0
			if ee, ok := err.(*exec.ExitError); ok {
				got = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("exit status %d, want %d: %s", got, tt.want, out)
			}
		})
	}
}
