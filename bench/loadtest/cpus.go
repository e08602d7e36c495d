package main

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"syscall"
	"unsafe"
)

// Pinning (-pin, for -peers, -compare and -floor): on a machine of two or
// more CPUs the load test runs on CPU 0 and every bot on CPU 1, so that no
// bot competes with the fakes and the load for a processor. Unpinned, the
// acks' tail measured the load test's own bursts more than the bots: the
// same binary's ack p99 ranged from 2.5 to 35 ms over five runs.

// harnessCPU and botCPU are the CPUs -pin gives the load test and the bots.
const harnessCPU, botCPU = 0, 1

// pinning says how the load test and the bots share the machine's CPUs.
type pinning struct {
	botCPUs string // taskset's CPU list for the bots; "" runs them unpinned
	why     string // why not pinned, when botCPUs is ""
}

// pin confines this process to harnessCPU and returns the pinning for the
// bots; when it cannot (one CPU, no taskset, the kernel refuses) it pins
// nothing and says why.
func pin() pinning {
	if runtime.NumCPU() < 2 {
		return pinning{why: "one CPU"}
	}
	if _, err := exec.LookPath("taskset"); err != nil {
		return pinning{why: "no taskset (util-linux)"}
	}
	if err := pinSelf(harnessCPU); err != nil {
		return pinning{why: err.Error()}
	}
	runtime.GOMAXPROCS(1) // one CPU: a second processor would only contend with the first
	return pinning{botCPUs: strconv.Itoa(botCPU)}
}

// describe says, for the table's header, where each runs.
func (p pinning) describe() string {
	if p.botCPUs == "" {
		return "unpinned (" + p.why + "): the bots share the CPUs with the load test"
	}
	return fmt.Sprintf("the load test on CPU %d, each bot on CPU %s (taskset; a Go peer's GOMAXPROCS follows: 1)", harnessCPU, p.botCPUs)
}

// argv returns the command line that runs bin with args, pinned.
func (p pinning) argv(bin string, args ...string) []string {
	if p.botCPUs == "" {
		return append([]string{bin}, args...)
	}
	return append([]string{"taskset", "--cpu-list", p.botCPUs, bin}, args...) // taskset execs bin: same pid
}

// pinSelf confines every thread of this process to cpu; threads started
// later inherit it from the thread that starts them.
func pinSelf(cpu int) error {
	var mask [1024 / 64]uint64 // a cpu_set_t
	mask[cpu/64] = 1 << (cpu % 64)
	pinned := map[int]bool{}
	for { // until a pass finds no thread started since the last
		tasks, err := os.ReadDir("/proc/self/task")
		if err != nil {
			return fmt.Errorf("pin the load test: %w", err)
		}
		fresh := false
		for _, t := range tasks {
			tid, err := strconv.Atoi(t.Name())
			if err != nil || pinned[tid] {
				continue
			}
			_, _, errno := syscall.RawSyscall(syscall.SYS_SCHED_SETAFFINITY, uintptr(tid), unsafe.Sizeof(mask), uintptr(unsafe.Pointer(&mask)))
			if errno != 0 && errno != syscall.ESRCH { // ESRCH: the thread has exited since
				return fmt.Errorf("pin the load test to CPU %d: %w", cpu, errno)
			}
			pinned[tid], fresh = true, true
		}
		if !fresh {
			return nil
		}
	}
}
