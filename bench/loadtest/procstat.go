package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// userHZ is the unit of utime and stime in /proc/<pid>/stat: USER_HZ, 100
// on every Linux architecture Go supports (it is part of the /proc ABI,
// independent of the kernel's own HZ).
const userHZ = 100

// cpuTime is the bot's CPU time so far, all threads: the sum of their run
// times in /proc/<pid>/task/<tid>/schedstat, in nanoseconds. utime+stime in
// /proc/<pid>/stat hold the same time in clock ticks of 10 ms, too coarse
// for a scenario of a few hundred transfers of half a millisecond each; it
// is the fallback where schedstat is missing (a kernel without
// CONFIG_SCHED_INFO). Threads that exit take their time with them here,
// which a Go bot's threads do not do under load.
func (bp *botProc) cpuTime() (time.Duration, error) {
	pid := bp.cmd.Process.Pid
	if d, err := schedstatCPU(pid); err == nil {
		return d, nil
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("read the bot's CPU time: %w", err)
	}
	ticks, err := parseStatCPU(data)
	if err != nil {
		return 0, err
	}
	return time.Duration(ticks) * time.Second / userHZ, nil
}

// schedstatCPU sums the run time of pid's threads from their schedstat.
func schedstatCPU(pid int) (time.Duration, error) {
	dir := fmt.Sprintf("/proc/%d/task", pid)
	tasks, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	var sum time.Duration
	for _, t := range tasks {
		data, err := os.ReadFile(filepath.Join(dir, t.Name(), "schedstat"))
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ESRCH) {
			continue // the thread has exited since the listing
		}
		if err != nil {
			return 0, err
		}
		ns, err := parseSchedstat(data)
		if err != nil {
			return 0, err
		}
		sum += ns
	}
	return sum, nil
}

// parseSchedstat returns the first field of a schedstat file: the time
// the thread has run on a CPU, in nanoseconds.
func parseSchedstat(data []byte) (time.Duration, error) {
	fields := bytes.Fields(data)
	if len(fields) < 1 {
		return 0, errors.New("schedstat: empty")
	}
	ns, err := strconv.ParseInt(string(fields[0]), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("schedstat: run time: %w", err)
	}
	return time.Duration(ns), nil
}

// cpuSinceConnect is the bot's CPU time since it connected: start-up is
// not what is measured.
func (bp *botProc) cpuSinceConnect() (time.Duration, error) {
	now, err := bp.cpuTime()
	return now - bp.cpuAtConnect, err
}

// cpuSinceConnect is the CPU time of all the world's bots since each
// connected, or 0 when any cannot be read (not Linux, or a process is
// gone).
func (w *world) cpuSinceConnect() time.Duration {
	cpus, err := perBot(w, (*botProc).cpuSinceConnect)
	if err != nil {
		return 0
	}
	var sum time.Duration
	for _, c := range cpus {
		sum += c
	}
	return sum
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
