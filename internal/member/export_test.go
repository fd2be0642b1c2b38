package member

import "github.com/muster-go/muster/internal/progress"

// CounterOf exposes a target's counter to this package's external tests,
// which play the watcher's part.
func CounterOf(t Target) *progress.Counter { return t.counter }
