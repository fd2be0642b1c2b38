package member

import "github.com/muster-go/muster/watcher"

// CounterOf exposes a target's counter to this package's external tests,
// which play the watcher's part.
func CounterOf(t Target) watcher.Counter { return t.counter }
