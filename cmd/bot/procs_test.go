package main

import (
	"os"
	"runtime"
	"testing"
)

func TestOneProcessor(t *testing.T) {
	before := runtime.GOMAXPROCS(0)
	t.Cleanup(func() { runtime.GOMAXPROCS(before) })
	tests := []struct {
		name string
		env  string // "" leaves GOMAXPROCS unset
		want int
	}{
		{"unset: one processor", "", 1},
		{"set: the runtime's choice stands", "3", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("GOMAXPROCS", tt.env) // restored after the test
			if tt.env == "" {
				os.Unsetenv("GOMAXPROCS")
			}
			runtime.GOMAXPROCS(3) // as the runtime would have set it from the variable or the CPUs
			oneProcessor()
			if got := runtime.GOMAXPROCS(0); got != tt.want {
				t.Errorf("GOMAXPROCS = %d, want %d", got, tt.want)
			}
		})
	}
}
