package main

import (
	"bytes"
	"os"
)

// fallbackLine starts the error line a replica logs when it falls back from
// Redis to memory (internal/store.Fallback).
var fallbackLine = []byte("store: Redis is not answering")

// noteFallbacks says how many of w's replicas fell back to memory during
// scenario id: a Redis call took longer than its 300 ms bound, so for a
// while those requests were deduplicated on that replica only.
func (b *bench) noteFallbacks(id string, w *world) {
	if w.redis == nil {
		return
	}
	n := 0
	for _, bp := range w.bots {
		data, _ := os.ReadFile(bp.logPath)
		n += bytes.Count(data, fallbackLine)
	}
	if n > 0 {
		b.note("%s: %d of %d replicas fell back to memory for a while (a Redis call over 300 ms; logged at error level, back on Redis at the next probe)",
			id, n, len(w.bots))
	}
}
