package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// userHZ is the unit of utime and stime in /proc/<pid>/stat: USER_HZ, 100
// on every Linux architecture Go supports (it is part of the /proc ABI,
// independent of the kernel's own HZ).
const userHZ = 100

// cpuTime is the bot's CPU time so far, user and system, all threads
// (utime+stime in /proc/<pid>/stat). Its resolution is 10 ms: divide it by
// hundreds of transfers, not a handful.
func (w *world) cpuTime() (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", w.cmd.Process.Pid))
	if err != nil {
		return 0, fmt.Errorf("read the bot's CPU time: %w", err)
	}
	ticks, err := parseStatCPU(data)
	if err != nil {
		return 0, err
	}
	return time.Duration(ticks) * time.Second / userHZ, nil
}

// cpuSinceConnect is the bot's CPU time since it connected, or 0 when it
// cannot be read (not Linux, or the process is gone).
func (w *world) cpuSinceConnect() time.Duration {
	now, err := w.cpuTime()
	if err != nil {
		return 0
	}
	return now - w.cpuAtConnect
}

// parseStatCPU returns utime+stime, in clock ticks, from the text of
// /proc/<pid>/stat. The command name (field 2) is in parentheses and may
// hold spaces and parentheses itself, so the fields are counted from the
// last ')'.
func parseStatCPU(data []byte) (int64, error) {
	end := bytes.LastIndexByte(data, ')')
	if end < 0 {
		return 0, errors.New("/proc/<pid>/stat: no command name")
	}
	// After the name: state (field 3), …, utime (14), stime (15).
	fields := bytes.Fields(data[end+1:])
	const utime, stime = 14 - 3, 15 - 3
	if len(fields) <= stime {
		return 0, fmt.Errorf("/proc/<pid>/stat: %d fields after the name, want more than %d", len(fields), stime)
	}
	u, err1 := strconv.ParseInt(string(fields[utime]), 10, 64)
	s, err2 := strconv.ParseInt(string(fields[stime]), 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("/proc/<pid>/stat: utime/stime: %w", err)
	}
	return u + s, nil
}

// rssAnon is the bot's anonymous resident memory in kB (RssAnon in
// /proc/<pid>/status: heap, stacks, the runtime's own; not the pages of
// the binary, which VmRSS also counts), or 0 when it cannot be read.
func (w *world) rssAnon() int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", w.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(data)) {
		if value, ok := strings.CutPrefix(line, "RssAnon:"); ok {
			kB, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
			return kB
		}
	}
	return 0
}
