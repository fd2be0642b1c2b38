package redisgroup

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// The steps publish each release on the group's release channel as
// "<outcome>\n<rid>" (a round's hash keeps its outcome meanwhile), and
// append each wake to a coordinator's wake stream, publishing the entry on
// the channel of the stream's name as "<entry id>\n<wake>". The watcher
// subscribes to both channels once. After each subscription is confirmed
// (the first, and each one go-redis makes again after a broken connection)
// it checks the rounds it waits on and reads the wake stream from the last
// entry it saw. So a release or wake published while it was not subscribed
// is found, and there is no window between subscribing and checking.

// run handles the published releases and wakes until stop; every interval
// while anyone waits it checks the group (idle).
func (w *watcher) run(ctx context.Context) {
	ps := w.rdb.Subscribe(ctx, w.relKey, w.wakeKey)
	if !w.setSubscription(ps) {
		_ = ps.Close()
		return
	}
	defer ps.Close()
	wake := "0-0" // the last wake entry seen
	checked := time.Now()
	for !w.isStopping() {
		msg, err := ps.ReceiveTimeout(ctx, w.interval)
		switch m := msg.(type) {
		case *redis.Subscription:
			switch {
			case m.Kind != "subscribe":
			case m.Channel == w.relKey:
				checked = time.Now()
				w.idle(ctx)
			default:
				w.catchUp(ctx, &wake)
			}
		case *redis.Message:
			w.published(m, &wake)
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

// published handles one published release, or one published wake unless
// the stream read got it first (wake is the last wake entry seen).
func (w *watcher) published(m *redis.Message, wake *string) {
	if m.Channel == w.relKey {
		if out, rid, ok := strings.Cut(m.Payload, "\n"); ok {
			w.released(rid, out)
		}
		return
	}
	id, what, ok := strings.Cut(m.Payload, "\n")
	if ok && idLess(*wake, id) {
		*wake = id
		w.woken(what)
	}
}

// catchUp reads the wake stream from the entry after wake to its end.
func (w *watcher) catchUp(ctx context.Context, wake *string) {
	for {
		streams, err := w.rdb.XRead(ctx, &redis.XReadArgs{
			Streams: []string{w.wakeKey, *wake}, Count: 256, Block: -1,
		}).Result()
		if err != nil {
			if !errors.Is(err, redis.Nil) && ctx.Err() == nil {
				w.log("redisgroup: reading wakes", "err", err)
			}
			return
		}
		for _, s := range streams {
			for _, e := range s.Messages {
				*wake = e.ID
				what, _ := e.Values["w"].(string)
				w.woken(what)
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
