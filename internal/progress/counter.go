// Package progress holds the delivery-progress counter of one (sender,
// recipient) pair: the only state a message reader and the progress watcher
// share.
//
// The reader publishes with Publish after every message it consumes; the
// watcher arms a threshold with Arm and reads with Delivered. The protocol is
// level-triggered and both sides store before they load:
//
//	reader:  delivered = seq; if seq >= threshold → claim and notify
//	watcher: threshold = t;   if delivered >= t  → satisfied already
//
// Go atomics are sequentially consistent, so at least one side sees the
// other's store: a crossing is never lost.
package progress

import (
	"math"
	"sync/atomic"
)

// None is the threshold of a counter nobody waits on.
const None = math.MaxUint64

// Counter is the progress of one sender's stream at one recipient. The zero
// value is not ready; use NewCounter. A Counter must not be copied.
type Counter struct {
	delivered atomic.Uint64
	threshold atomic.Uint64
	credit    atomic.Uint64 // a blocked sender's threshold, apart from the watcher's
	_         noCopy
}

// NewCounter returns a counter with nothing delivered and no threshold.
func NewCounter() *Counter {
	c := &Counter{}
	c.threshold.Store(None)
	c.credit.Store(None)
	return c
}

// Publish records that the message with sequence seq, and every earlier one
// of this pair, has been consumed. It reports whether seq crossed the armed
// threshold; exactly one caller sees true per Arm, and that caller must notify
// the watcher. The hot path is one atomic store and one atomic load.
func (c *Counter) Publish(seq uint64) (crossed bool) {
	c.delivered.Store(seq)
	t := c.threshold.Load()
	return seq >= t && c.threshold.CompareAndSwap(t, None)
}

// Delivered returns the sequence of the latest consumed message.
func (c *Counter) Delivered() uint64 { return c.delivered.Load() }

// Arm asks Publish to report the first sequence at or above t. Only the
// watcher calls it. After arming, the caller must read Delivered: a crossing
// that happened before Arm is reported by nobody.
func (c *Counter) Arm(t uint64) { c.threshold.Store(t) }

// Disarm removes the threshold.
func (c *Counter) Disarm() { c.threshold.Store(None) }

// Threshold returns the armed threshold, or None.
func (c *Counter) Threshold() uint64 { return c.threshold.Load() }

// ArmCredit is Arm for the sender of the pair, waiting for room in its
// window: CreditDue reports the first sequence at or above t. After arming,
// the sender must read Delivered. A lower t replaces a higher one, never the
// reverse, so that two waiting sends of one sender share the threshold.
func (c *Counter) ArmCredit(t uint64) {
	for {
		old := c.credit.Load()
		if t >= old || c.credit.CompareAndSwap(old, t) {
			return
		}
	}
}

// DisarmCredit removes the sender's threshold.
func (c *Counter) DisarmCredit() { c.credit.Store(None) }

// CreditDue is Publish's check for the sender's threshold, called after
// Publish(seq): it reports whether seq crossed it, to exactly one caller per
// ArmCredit. The hot path is one atomic load.
func (c *Counter) CreditDue(seq uint64) bool {
	t := c.credit.Load()
	return seq >= t && c.credit.CompareAndSwap(t, None)
}

// noCopy lets go vet's copylocks check flag copies of a Counter.
type noCopy struct{}

func (*noCopy) Lock()   {}
func (*noCopy) Unlock() {}
