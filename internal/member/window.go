package member

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/muster-go/muster/fence"
)

// DefaultWindow is a member's window when Config.Window is zero (the
// coordinator always sets one: processgroup.DefaultWindow by default).
const DefaultWindow = 1024

// credit is the flow control of one link: its window and the sends of its
// sender waiting for room in it. A send outside a handler is refused room
// while the sender has window messages on the link that the recipient has not
// consumed (sent - delivered >= window); it then waits until the recipient's
// reader consumed half the window, which the reader reports through the
// link's counter (ArmCredit, CreditDue) without a lock while nobody waits.
type credit struct {
	window  uint64 // the recipient's window, fixed when the link is made
	mu      sync.Mutex
	ch      chan struct{} // closed by the reader at the crossing; nil while nobody waits
	waiters int
}

// full reports whether l's window is used up: a bounded send must wait.
// While room is left from the last reading it reads nothing: progress is on
// the line the recipient's reader writes for every message, and reading it
// for every send would move that line between the two cores each time. So
// a reader that keeps up costs the sender one read per window. Callers hold
// the sender's stream lock (l.sent, l.room).
func (l *link[T]) full() bool {
	if l.room > 0 {
		return false
	}
	unhandled := l.sent - l.progress.Delivered()
	if unhandled >= l.credit.window {
		return true
	}
	l.room = l.credit.window - unhandled
	return false
}

// waitCredit blocks until the recipient consumed enough of what l's sender
// had sent when its window was found full (sent) for a send to fit again,
// with room for half a window more, or until ctx ends. It returns nil early
// at times (a crossing meant for another wait of the same sender); callers
// retry and may wait again.
func (l *link[T]) waitCredit(ctx context.Context, sent uint64) error {
	c := &l.credit
	at := sent - c.window + max(1, c.window/2) // delivered >= at leaves room
	for range idleSpins {                      // the reader usually makes room within a few rounds
		if l.progress.Delivered() >= at {
			return nil
		}
		runtime.Gosched()
	}
	c.mu.Lock()
	if c.ch == nil {
		c.ch = make(chan struct{})
	}
	ch := c.ch
	c.waiters++
	c.mu.Unlock()
	defer l.leaveCredit()
	l.progress.ArmCredit(at)
	if l.progress.Delivered() >= at { // consumed before the arm: nobody will report it
		return nil
	}
	if f := l.to.fwd; f != nil {
		f.want(l, at) // the far side reports when it handled the message at
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return fence.ContextError(ctx)
	}
}

// leaveCredit ends one wait; the last one takes the threshold away.
func (l *link[T]) leaveCredit() {
	c := &l.credit
	c.mu.Lock()
	if c.waiters--; c.waiters == 0 {
		l.progress.DisarmCredit()
	}
	c.mu.Unlock()
}

// grantCredit wakes the sends waiting on l. The reader calls it when its
// progress crossed their threshold.
func (l *link[T]) grantCredit() {
	c := &l.credit
	c.mu.Lock()
	if c.ch != nil {
		close(c.ch)
		c.ch = nil
	}
	c.mu.Unlock()
}

// waitRoom waits, as a send of m, until the window of l (m's link to its
// recipient) has room, showing the wait in m's Snapshot meanwhile. sent is
// l's last sequence when the window was found full. The error says how long
// the window was full.
func (m *Member[T]) waitRoom(ctx context.Context, l *link[T], sent uint64) error {
	token, since := m.waiting.add(l.to.id)
	err := l.waitCredit(ctx, sent)
	m.waiting.remove(token)
	if err != nil {
		return fmt.Errorf("window of %d unhandled messages full for %v: %w", l.credit.window, time.Since(since).Round(time.Microsecond), err)
	}
	return nil
}
