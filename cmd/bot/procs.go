package main

import (
	"os"
	"runtime"
)

// oneProcessor runs the bot's Go code on one processor (GOMAXPROCS=1)
// unless the GOMAXPROCS variable says otherwise.
//
// The bot waits on the network: a transfer costs about a millisecond of
// CPU, so one processor serves hundreds a second, more than Plivo accepts
// from an account (300 requests per 5 s). With more processors every
// hand-off between goroutines (Socket Mode's reader and writer, each HTTP
// connection's read and write loops, the transfer itself) wakes another
// thread, and idle threads spin looking for work: under the load test that
// was about 30% of the bot's CPU time per transfer, and it lengthened the
// acks' tail rather than shortening it.
func oneProcessor() {
	if _, set := os.LookupEnv("GOMAXPROCS"); !set {
		runtime.GOMAXPROCS(1)
	}
}
