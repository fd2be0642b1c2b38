package member

import (
	"cmp"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/internal/progress"
	"github.com/muster-go/muster/managedprocess"
	"github.com/muster-go/muster/watcher"
)

// Forward hands one message to a member's far side (a member behind a
// wire): it must queue it there and return without waiting for it to be
// handled. run, when not nil, is instead a run of messages already encoded
// (body is then the zero value), the first of them seq: messages relayed
// between two wires, or encoded by their sender (see Config.Encode). It is
// called on the member's reader goroutine, one message or run at a time.
// The far side reports its progress with Member.Acknowledge, counting each
// message of a run.
type Forward[T any] func(from fence.Identity, seq uint64, body T, run *Run)

// Arm asks a member's far side to report its progress as soon as it handled
// count of the messages forwarded to it (at once if it has). It must not
// block.
type Arm func(count uint64)

// forwarded is the progress of a member whose messages are handled on its
// far side: every message (or run of messages) its reader forwarded and the
// far side has not yet acknowledged, in order, with the local-fence markers
// and the dropped messages the reader met after them. The far side may
// acknowledge a part of a run: the entry then stands for the rest. A
// message counts as consumed (its link's progress is published) only once
// it was acknowledged, or dropped when the far side was lost; markers and
// drops wait for what is ahead of them. So progress on every link rises in
// order, as with a handler in process, and a sender's window bounds what it
// has queued at the far side too. All of it is guarded by mu: the reader
// appends, Acknowledge (on the wire's goroutine) consumes.
type forwarded[T any] struct {
	mu        sync.Mutex
	queue     []forwardedEntry[T]
	head      int
	sent      uint64 // messages forwarded
	acked     uint64 // messages consumed: acknowledged, or dropped once abandoned
	handled   uint64 // messages acknowledged
	abandoned error  // the far side is lost: nothing more will be acknowledged
	empty     chan struct{}
	since     time.Time // when the entry at the head became the head

	// Progress the coordinator waits for (see want): the far side reports
	// at the end of each batch it handles (and on a timer while one takes
	// long), and also as soon as it handled the count it was last armed at
	// (farArmed; 0 if none).
	arm      func(count uint64) // asks the far side to report at count
	farArmed uint64
	arms     []uint64            // counts waited for beyond acked, ascending
	wants    map[*link[T]]uint64 // link progress waited for, of messages not yet forwarded
}

// farCounter is the counter the watcher arms for a link to a member with a
// far side: arming it also has the far side report once the message armed
// at was handled, so that a handler stuck on a later message of the same
// batch does not hide the progress.
type farCounter[T any] struct {
	*progress.Counter
	l *link[T]
}

// Arm implements watcher.Counter.
func (c *farCounter[T]) Arm(t uint64) {
	c.Counter.Arm(t)
	c.l.to.fwd.want(c.l, t)
}

// watched returns the counter the watcher is to arm for l.
func (l *link[T]) watched() watcher.Counter {
	if l.to.fwd != nil {
		return &farCounter[T]{Counter: l.progress, l: l}
	}
	return l.progress
}

// want makes the far side report once l's progress reaches t: at once, if
// the message is forwarded, else when it is.
func (f *forwarded[T]) want(l *link[T], t uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.abandoned != nil || l.progress.Delivered() >= t {
		return
	}
	count := f.acked
	for i := f.head; i < len(f.queue); i++ {
		fe := &f.queue[i]
		if !fe.forwarded {
			continue
		}
		if fe.e.link == l && fe.e.n >= t {
			f.wantCount(count + fe.through(t))
			return
		}
		count += fe.count
	}
	if f.wants == nil {
		f.wants = make(map[*link[T]]uint64)
	}
	if w, ok := f.wants[l]; !ok || t < w {
		f.wants[l] = t
	}
}

// wantCount makes the far side report once it handled count messages.
// Callers hold mu.
func (f *forwarded[T]) wantCount(count uint64) {
	if count <= f.acked || f.arm == nil {
		return
	}
	i, found := slices.BinarySearch(f.arms, count)
	if !found {
		f.arms = slices.Insert(f.arms, i, count)
	}
	if f.farArmed == 0 || count < f.farArmed {
		f.farArmed = count
		f.arm(count)
	}
}

// rearm drops the counts acknowledged and arms the far side at the next
// one waited for. Callers hold mu.
func (f *forwarded[T]) rearm() {
	n := 0
	for n < len(f.arms) && f.arms[n] <= f.acked {
		n++
	}
	f.arms = append(f.arms[:0], f.arms[n:]...)
	if f.farArmed != 0 && f.farArmed <= f.acked {
		f.farArmed = 0
	}
	if f.farArmed == 0 && len(f.arms) > 0 {
		f.farArmed = f.arms[0]
		f.arm(f.farArmed)
	}
}

// forwardedEntry is a forwarded message or run of them (forwarded set), a
// dropped one, or a marker.
type forwardedEntry[T any] struct {
	e         entry[T] // e.seq is the first message's, e.n the last one's number in its link
	count     uint64   // messages forwarded and not acknowledged: the last ones of e
	forwarded bool
	err       error // a marker's: the messages before it were dropped
}

// through returns how many of fe's messages there are up to the one whose
// number in its link is t (which is one of them).
func (fe *forwardedEntry[T]) through(t uint64) uint64 { return t - (fe.e.n - fe.count) }

// consumeFirst consumes fe's first k messages, fewer than it has, as
// handled, or dropped with dropErr: it publishes the progress of the last
// of them.
func (f *forwarded[T]) consumeFirst(m *Member[T], fe *forwardedEntry[T], k uint64, dropErr error) {
	f.counted(m, k, dropErr)
	first := fe.e
	first.n -= fe.count - k
	m.notifyDeliveryProgress(&first)
	fe.count -= k
	fe.e.seq += k
}

// counted adds k messages to those handled, or dropped if dropErr is set.
func (f *forwarded[T]) counted(m *Member[T], k uint64, dropErr error) {
	f.acked += k
	if dropErr != nil {
		m.stats.dropped.Add(k)
	} else {
		f.handled += k
	}
}

// forward records that e is being forwarded, and reports whether to send
// it: once the far side is lost, e is dropped instead.
func (f *forwarded[T]) forward(m *Member[T], e *entry[T]) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.abandoned != nil {
		f.consumeLocked(m, e, f.abandoned)
		return false
	}
	before := f.sent
	f.sent += e.count()
	if f.head == len(f.queue) {
		f.since = time.Now()
	}
	f.queue = append(f.queue, forwardedEntry[T]{e: entry[T]{link: e.link, seq: e.seq, n: e.n}, count: e.count(), forwarded: true})
	if w, ok := f.wants[e.link]; ok && e.n >= w {
		delete(f.wants, e.link)
		f.wantCount(before + f.queue[len(f.queue)-1].through(max(w, e.n-e.count()+1)))
	}
	return true
}

// consume consumes e (a marker, or a message dropped): at once when nothing
// forwarded is ahead of it, otherwise once that was.
func (f *forwarded[T]) consume(m *Member[T], e *entry[T], dropErr error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.head == len(f.queue) {
		f.consumeLocked(m, e, dropErr)
		return
	}
	f.queue = append(f.queue, forwardedEntry[T]{e: entry[T]{link: e.link, n: e.n}, err: dropErr})
	if e.link.marker != nil {
		f.wantCount(f.sent) // a local fence waits for what was forwarded before it
	}
}

// consumeLocked publishes e's progress as dropped, or reaches e's marker.
func (f *forwarded[T]) consumeLocked(m *Member[T], e *entry[T], dropErr error) {
	if mk := e.link.marker; mk != nil {
		mk.reach(dropErr)
		return
	}
	m.stats.dropped.Add(e.count())
	m.notifyDeliveryProgress(e)
}

// ack consumes the forwarded messages up to the count-th, as handled, and
// what waited behind them. It fails, changing nothing, if count goes
// backwards or beyond what was forwarded, or, unless final (the far side
// drops the rest), does not advance.
func (f *forwarded[T]) ack(m *Member[T], count uint64, final bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.abandoned != nil {
		return nil // what was not acknowledged was dropped
	}
	if count < f.acked || count > f.sent || count == f.acked && !final {
		return fmt.Errorf("progress %d, after %d of %d messages forwarded", count, f.acked, f.sent)
	}
	f.advance(m, count, nil)
	f.rearm()
	return nil
}

// abandon consumes everything forwarded and not acknowledged as dropped,
// with cause, and everything forwarded or dropped from now on at once.
func (f *forwarded[T]) abandon(m *Member[T], cause error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.abandoned != nil {
		return
	}
	f.abandoned = cause
	f.advance(m, f.sent, cause)
	f.arms, f.wants = nil, nil
}

// advance consumes from the head: forwarded messages while fewer than count
// were acknowledged (as handled, or dropped with dropErr), and the markers
// and drops behind them. Callers hold mu.
func (f *forwarded[T]) advance(m *Member[T], count uint64, dropErr error) {
	for ; f.head < len(f.queue); f.head++ {
		fe := &f.queue[f.head]
		switch {
		case !fe.forwarded:
			f.consumeLocked(m, &fe.e, cmp.Or(dropErr, fe.err))
		case f.acked+fe.count <= count:
			f.counted(m, fe.count, dropErr)
			m.notifyDeliveryProgress(&fe.e)
		case f.acked < count: // a part of a run: the entry stays for the rest
			f.consumeFirst(m, fe, count-f.acked, dropErr)
			fallthrough
		default:
			f.since = time.Now()
			f.compact()
			return
		}
		fe.e = entry[T]{}
	}
	f.compact()
}

// reading is counters.reading for a member with a far side: the messages
// acknowledged, those forwarded behind the one at the head, and that one,
// which the far side is handling (or about to).
func (f *forwarded[T]) reading() (handled uint64, waiting int, cur *managedprocess.Handling) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var markers []*marker // a marker has a copy per lane: it counts once
	for i := f.head; i < len(f.queue); i++ {
		fe := &f.queue[i]
		switch mk := fe.e.link.marker; {
		case mk != nil:
			if !slices.Contains(markers, mk) {
				markers = append(markers, mk)
				waiting++
			}
		case !fe.forwarded:
			waiting++ // a drop, behind a forwarded message
		case cur == nil:
			cur = &managedprocess.Handling{From: fe.e.link.sender, Seq: fe.e.seq, Since: f.since}
			waiting += int(fe.count) - 1
		default:
			waiting += int(fe.count)
		}
	}
	return f.handled, waiting, cur
}

// compact gives back the consumed front of the queue; when it is empty it
// tells a reader waiting for that. Callers hold mu.
func (f *forwarded[T]) compact() {
	if f.head < len(f.queue) {
		if f.head > len(f.queue)/2 {
			n := copy(f.queue, f.queue[f.head:])
			clear(f.queue[n:])
			f.queue, f.head = f.queue[:n], 0
		}
		return
	}
	f.queue, f.head = f.queue[:0], 0
	if f.empty != nil {
		close(f.empty)
		f.empty = nil
	}
}

// drained returns a channel closed once everything forwarded was consumed
// (closed already if it was).
func (f *forwarded[T]) drained() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	ch := make(chan struct{})
	if f.head == len(f.queue) {
		close(ch)
		return ch
	}
	f.empty = ch
	return ch
}

// Acknowledge records that the far side of a member made with
// Config.Forward handled the first count messages forwarded to it (and
// their post-handler work): their progress is published, in order. final
// says the far side handles nothing more (the caller then abandons the
// rest). It returns an error, changing nothing, if count goes backwards or
// beyond what was forwarded, or does not advance though not final; the
// caller should then disconnect the far side.
func (m *Member[T]) Acknowledge(count uint64, final bool) error {
	if m.fwd == nil {
		return m.errorf("acknowledge: %w", fence.ErrInvalidArgument)
	}
	return m.fwd.ack(m, count, final)
}

// Unacknowledged reports whether the message seq of the stream of from was
// forwarded to the far side and not yet acknowledged: one the far side may
// still report on.
func (m *Member[T]) Unacknowledged(from fence.Identity, seq uint64) bool {
	if m.fwd == nil {
		return false
	}
	f := m.fwd
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := f.head; i < len(f.queue); i++ {
		if fe := &f.queue[i]; fe.forwarded && fe.e.link.sender == from && seq >= fe.e.seq && seq-fe.e.seq < fe.count {
			return true
		}
	}
	return false
}

// CrashedAt records that the far side's handler crashed with cause at the
// count-th message forwarded: the messages before it were handled, it and
// the rest are dropped, and the member crashes as its handler would in
// process.
func (m *Member[T]) CrashedAt(count uint64, cause error) error {
	if m.fwd == nil {
		return m.errorf("crashed: %w", fence.ErrInvalidArgument)
	}
	if count == 0 {
		return m.errorf("crashed: at no message: %w", fence.ErrInvalidArgument)
	}
	if err := m.fwd.ack(m, count-1, true); err != nil {
		return err
	}
	m.crash(cause)
	m.fwd.abandon(m, cause)
	return nil
}

// Abandon records that the far side is lost: what was forwarded to it and
// not acknowledged is dropped, with cause. The caller makes the member
// depart.
func (m *Member[T]) Abandon(cause error) {
	if m.fwd != nil {
		m.fwd.abandon(m, cause)
	}
}
