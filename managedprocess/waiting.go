package managedprocess

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/muster-go/muster/fence"
)

// WaitingSend is a send of a member that waits for room in a full inbox:
// to whom, and since when. A handler that sends with a context not derived
// from its handler context is not exempt from the bound; two such handlers
// sending into each other's full inboxes wait for each other for good, and
// this is how the Snapshot shows it.
type WaitingSend struct {
	To    fence.Identity
	Since time.Time
}

// String returns "to#id for D".
func (w WaitingSend) String() string {
	return fmt.Sprintf("%s for %v", w.To, time.Since(w.Since).Round(time.Millisecond))
}

// waitingSends are a member's sends waiting for room, for Snapshot.
type waitingSends struct {
	mu   sync.Mutex
	list []*WaitingSend
}

// add records a send to to that starts waiting now; remove withdraws it.
func (w *waitingSends) add(to fence.Identity) *WaitingSend {
	ws := &WaitingSend{To: to, Since: time.Now()}
	w.mu.Lock()
	w.list = append(w.list, ws)
	w.mu.Unlock()
	return ws
}

// remove withdraws ws.
func (w *waitingSends) remove(ws *WaitingSend) {
	w.mu.Lock()
	if i := slices.Index(w.list, ws); i >= 0 {
		w.list = slices.Delete(w.list, i, i+1)
	}
	w.mu.Unlock()
}

// snapshot copies the waiting sends, oldest first.
func (w *waitingSends) snapshot() []WaitingSend {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.list) == 0 {
		return nil
	}
	out := make([]WaitingSend, len(w.list))
	for i, ws := range w.list {
		out[i] = *ws
	}
	return out
}

// waitRoom waits, as a send of m, until to's inbox has room for m's messages
// or ctx ends, showing the wait in m's Snapshot meanwhile. The error says
// how long the inbox was full.
func (m *Member[T]) waitRoom(ctx context.Context, to *Member[T]) error {
	ws := m.waiting.add(to.id)
	err := to.inbox.waitRoom(ctx, laneOf(m.id.ID))
	m.waiting.remove(ws)
	if err != nil {
		return fmt.Errorf("inbox full for %v: %w", time.Since(ws.Since).Round(time.Microsecond), err)
	}
	return nil
}
