package member

import (
	"slices"
	"sync"
	"time"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/managedprocess"
)

// waitingSends are a member's sends waiting for room, for Snapshot. Adding
// and removing one allocates nothing once the list has room: a sender that
// keeps its window full waits often.
type waitingSends struct {
	mu   sync.Mutex
	next uint64 // the token of the next wait
	list []waitingSend
}

type waitingSend struct {
	token uint64
	managedprocess.WaitingSend
}

// add records a send to to that starts waiting now and returns its token
// and start; remove withdraws it.
func (w *waitingSends) add(to fence.Identity) (uint64, time.Time) {
	now := time.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.next++
	w.list = append(w.list, waitingSend{token: w.next, WaitingSend: managedprocess.WaitingSend{To: to, Since: now}})
	return w.next, now
}

// remove withdraws the wait with token.
func (w *waitingSends) remove(token uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.list = slices.DeleteFunc(w.list, func(ws waitingSend) bool { return ws.token == token })
}

// snapshot copies the waiting sends, oldest first.
func (w *waitingSends) snapshot() []managedprocess.WaitingSend {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.list) == 0 {
		return nil
	}
	out := make([]managedprocess.WaitingSend, len(w.list))
	for i, ws := range w.list {
		out[i] = ws.WaitingSend
	}
	return out
}
