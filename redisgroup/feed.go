package redisgroup

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// The scripts append each release to the group's release stream and each
// wake to a coordinator's wake stream, and publish the entry on the channel
// of the stream's name as "<entry id>\n<payload>" (a release's payload is
// "<outcome>\n<rid>", a wake's the wake). The watcher subscribes to both
// channels once; after each subscription is confirmed (the first, and each
// one go-redis makes again after a broken connection) it reads both streams
// from the last entries it saw. So a release published while it was not
// subscribed is read from the stream, and there is no window between
// subscribing and checking.

// feed is the watcher's position in its two streams.
type feed struct {
	rel, wake string // the last entry ids seen
}

// run handles the published releases and wakes, from release entry last on,
// until stop; every interval while anyone waits it checks the group (idle).
func (w *watcher) run(ctx context.Context, last string) {
	ps := w.rdb.Subscribe(ctx, w.relKey, w.wakeKey)
	if !w.setSubscription(ps) {
		_ = ps.Close()
		return
	}
	defer ps.Close()
	pos := feed{rel: last, wake: "0-0"}
	checked := time.Now()
	for !w.isStopping() {
		msg, err := ps.ReceiveTimeout(ctx, w.interval)
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				w.catchUp(ctx, &pos)
			}
		case *redis.Message:
			w.published(m, &pos)
		}
		if err != nil && !isTimeout(err) {
			if ctx.Err() != nil || w.isStopping() {
				return
			}
			w.log("redisgroup: waiting for releases", "err", err)
			time.Sleep(w.interval / 4)
		}
		if time.Since(checked) >= w.interval {
			checked = time.Now()
			w.idle(ctx)
		}
	}
}

// published handles one published entry, unless the stream read got it
// first.
func (w *watcher) published(m *redis.Message, pos *feed) {
	id, payload, ok := strings.Cut(m.Payload, "\n")
	if !ok {
		return
	}
	if m.Channel == w.relKey {
		out, rid, ok := strings.Cut(payload, "\n")
		if ok && idLess(pos.rel, id) {
			pos.rel = id
			w.released(rid, out)
		}
		return
	}
	if idLess(pos.wake, id) {
		pos.wake = id
		w.woken(payload)
	}
}

// catchUp reads both streams from pos to their ends.
func (w *watcher) catchUp(ctx context.Context, pos *feed) {
	for {
		streams, err := w.rdb.XRead(ctx, &redis.XReadArgs{
			Streams: []string{w.relKey, w.wakeKey, pos.rel, pos.wake}, Count: 256, Block: -1,
		}).Result()
		if err != nil {
			if !errors.Is(err, redis.Nil) && ctx.Err() == nil {
				w.log("redisgroup: reading releases", "err", err)
			}
			return
		}
		for _, s := range streams {
			for _, e := range s.Messages {
				if s.Stream == w.relKey {
					pos.rel = e.ID
					rid, _ := e.Values["r"].(string)
					out, _ := e.Values["o"].(string)
					w.released(rid, out)
				} else {
					pos.wake = e.ID
					what, _ := e.Values["w"].(string)
					w.woken(what)
				}
			}
		}
	}
}

// woken hands a wake to the outbound fence ("f<fid>") or the member waiting
// for room ("m<id>") it names.
func (w *watcher) woken(what string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case strings.HasPrefix(what, "f"):
		if ch, ok := w.fences[what[1:]]; ok {
			close(ch)
			delete(w.fences, what[1:])
		}
	case strings.HasPrefix(what, "m"):
		if ch, ok := w.room[what[1:]]; ok {
			close(ch)
			delete(w.room, what[1:])
		}
	}
}

// isTimeout reports whether err is ReceiveTimeout's timeout.
func isTimeout(err error) bool {
	var ne interface{ Timeout() bool }
	return errors.As(err, &ne) && ne.Timeout()
}
