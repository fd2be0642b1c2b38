package redisgroup

import (
	"context"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// recentOutcomes is how many released rounds a watcher remembers, for an
// arrival whose waiter registers after the watcher read its release.
const recentOutcomes = 4096

// watcher is a coordinator's one reader of the group's releases and of its
// own wakes (see feed.go). It hands each release to the local waiters of the
// round, each wake to the member or outbound fence it names, and every
// interval, while anyone waits, it checks the group's heartbeats and the
// rounds waited on (which also catches a release it could not read).
type watcher struct {
	rdb      redis.UniversalClient
	sc       *scripts
	relKey   string
	wakeKey  string
	interval time.Duration
	log      func(string, ...any)

	mu       sync.Mutex
	rounds   map[string][]chan string // rid → its waiters, each buffered 1
	recent   map[string]string        // rid → outcome of recent releases
	order    []string                 // recent's keys, oldest first
	fences   map[string]chan struct{}
	room     map[string]chan struct{} // member id → closed on a wake
	tick     chan struct{}            // closed every interval while anyone waits
	waiters  int
	stopping bool
	ps       *redis.PubSub // closed by stop
}

func newWatcher(rdb redis.UniversalClient, sc *scripts, base, cid string, interval time.Duration, log func(string, ...any)) *watcher {
	return &watcher{
		rdb: rdb, sc: sc, relKey: base + ":rel", wakeKey: base + ":wake:" + cid, interval: interval, log: log,
		rounds: map[string][]chan string{}, recent: map[string]string{},
		fences: map[string]chan struct{}{}, room: map[string]chan struct{}{}, tick: make(chan struct{}),
	}
}

func (w *watcher) isStopping() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.stopping
}

// setSubscription records ps, for stop to close; it reports false if the
// watcher is stopping already.
func (w *watcher) setSubscription(ps *redis.PubSub) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.ps = ps
	return !w.stopping
}

// released hands rid's outcome to its waiter and remembers it.
func (w *watcher) released(rid, out string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, ch := range w.rounds[rid] {
		ch <- out
	}
	delete(w.rounds, rid)
	if _, ok := w.recent[rid]; ok {
		return
	}
	w.recent[rid] = out
	w.order = append(w.order, rid)
	if len(w.order) > recentOutcomes {
		delete(w.recent, w.order[0])
		w.order = w.order[1:]
	}
}

// forgetRecent forgets the outcomes of the rounds released so far.
func (w *watcher) forgetRecent() {
	w.mu.Lock()
	defer w.mu.Unlock()
	clear(w.recent)
	w.order = w.order[:0]
}

// idle runs every interval: while anyone waits it checks
// heartbeats and the rounds waited on, and wakes every send waiting for room
// and every outbound fence, which then look again.
func (w *watcher) idle(ctx context.Context) {
	w.mu.Lock()
	if w.waiters == 0 {
		w.mu.Unlock()
		return
	}
	rids := make([]any, 0, len(w.rounds))
	for rid := range w.rounds {
		rids = append(rids, rid)
	}
	close(w.tick)
	w.tick = make(chan struct{})
	for id, ch := range w.room {
		close(ch)
		delete(w.room, id)
	}
	w.mu.Unlock()
	outs, err := w.sc.run(ctx, w.sc.check, rids...).StringSlice()
	if err != nil {
		return
	}
	for i, out := range outs {
		if out != "" {
			w.released(rids[i].(string), out)
		}
	}
}

// waitRound registers a waiter for round rid and returns the channel its
// outcome arrives on ("missing" when Redis lost the round). Call done when
// no longer waiting. A release read before the call is found in the recent
// outcomes or, after those, by the next check.
func (w *watcher) waitRound(rid string) (outcome <-chan string, done func()) {
	ch := make(chan string, 1)
	w.mu.Lock()
	defer w.mu.Unlock()
	if out, ok := w.recent[rid]; ok {
		ch <- out
		return ch, func() {}
	}
	w.rounds[rid] = append(w.rounds[rid], ch)
	w.waiters++
	return ch, func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.waiters--
		chs := w.rounds[rid]
		for i, c := range chs {
			if c == ch {
				chs = append(chs[:i], chs[i+1:]...)
				break
			}
		}
		if len(chs) == 0 {
			delete(w.rounds, rid)
		} else {
			w.rounds[rid] = chs
		}
	}
}

// waitRoom returns a channel closed at member id's next wake (room at a
// recipient, or a recipient departed) or the next interval. Take it before
// the send that may find a window full.
func (w *watcher) waitRoom(id string) (wake <-chan struct{}, done func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	ch, ok := w.room[id]
	if !ok {
		ch = make(chan struct{})
		w.room[id] = ch
	}
	w.waiters++
	return ch, w.release
}

// waitFence returns a channel closed once fence fid's links caught up, and
// the interval's tick, on which the waiter looks again.
func (w *watcher) waitFence(fid string) (caughtUp, tick <-chan struct{}, done func()) {
	ch := make(chan struct{})
	w.mu.Lock()
	defer w.mu.Unlock()
	w.fences[fid] = ch
	w.waiters++
	return ch, w.tick, func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		delete(w.fences, fid)
		w.waiters--
	}
}

// nextTick returns a channel closed at the next interval while anyone waits.
func (w *watcher) nextTick() <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.tick
}

func (w *watcher) release() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.waiters--
}

// stop makes run return: it closes the subscription, so that a blocked
// receive returns at once.
func (w *watcher) stop() {
	w.mu.Lock()
	w.stopping = true
	ps := w.ps
	w.mu.Unlock()
	if ps != nil {
		_ = ps.Close()
	}
}
