package redisgroup

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/muster-go/muster/fence"
)

// maxBatch bounds the messages one send script appends.
const maxBatch = 512

// pending is a message Send accepted and the flusher has not appended yet.
type pending struct {
	seq     uint64
	handler bool
	to      string
	toID    string // "0": whoever has the name
	body    []byte
}

// link is what the member knows of its stream to one recipient: sent counts
// the messages queued here too; done is what the recipient had consumed
// when a script last read it.
type link struct {
	id, sent, done, window uint64
	name                   string
	err                    error // the recipient departed: sends to it fail
}

// batchReply is the send script's reply.
type batchReply struct {
	status string // "ok", "full" or "self"
	done   int    // messages processed: sent, or refused (errs)
	links  []linkReply
	errs   []batchErr
}

type linkReply struct {
	id, sent, done, window uint64
	name                   string
}

type batchErr struct {
	to  string // the refused message's recipient; "" for the sender's own cause
	err error
}

// runBatch runs the send script on batch.
func (m *member[T]) runBatch(ctx context.Context, batch []pending) (batchReply, error) {
	args := make([]any, 0, 1+5*len(batch))
	args = append(args, m.sid)
	for _, p := range batch {
		args = append(args, p.seq, flag(p.handler), p.to, p.toID, p.body)
	}
	raw, err := m.c.sc.run(ctx, m.c.sc.send, args...).Slice()
	if err != nil {
		return batchReply{}, err
	}
	if len(raw) != 4 {
		return batchReply{}, fmt.Errorf("%w: the send script replied with %d values, not 4", ErrRedis, len(raw))
	}
	return parseBatch(raw, batch), nil
}

func parseBatch(raw []any, batch []pending) batchReply {
	var r batchReply
	r.status, _ = raw[0].(string)
	done, _ := raw[1].(int64)
	r.done = int(done)
	links, _ := raw[2].([]any)
	for i := 0; i+4 < len(links); i += 5 {
		var l linkReply
		id, _ := links[i].(int64)
		l.name, _ = links[i+1].(string)
		sent, _ := links[i+2].(int64)
		dn, _ := links[i+3].(int64)
		win, _ := links[i+4].(int64)
		l.id, l.sent, l.done, l.window = uint64(id), uint64(sent), uint64(dn), uint64(win)
		r.links = append(r.links, l)
	}
	errs, _ := raw[3].([]any)
	for i := 0; i+2 < len(errs); i += 3 {
		n, _ := errs[i].(int64)
		kind, _ := errs[i+1].(string)
		cause, _ := errs[i+2].(string)
		to := ""
		if n >= 1 && int(n) <= len(batch) {
			to = batch[n-1].to
		}
		r.errs = append(r.errs, batchErr{to: to, err: refusal(kind, to, cause)})
	}
	return r
}

// refusal is the error of a message the send script refused.
func refusal(kind, to, cause string) error {
	switch kind {
	case "unknown":
		return fmt.Errorf("%w: %q", fence.ErrUnknownMember, to)
	case "self":
		_, err := decodeCause(cause)
		return err
	}
	if cause == "" {
		return fmt.Errorf("%w: %q departed", fence.ErrUnknownMember, to)
	}
	who, err := decodeCause(cause)
	return fmt.Errorf("%s departed: %w", who, err)
}

// applyLinks updates the links from a reply; sync (the reply of a message
// sent with nothing queued) also takes the link's count from it.
func (m *member[T]) applyLinks(r batchReply, sync bool) {
	for _, lr := range r.links {
		l := m.byID[lr.id]
		if l == nil || m.links[lr.name] != l {
			l = &link{id: lr.id, name: lr.name, sent: lr.sent}
			m.byID[lr.id] = l
			m.links[lr.name] = l
		}
		if sync {
			l.sent = lr.sent
		}
		l.done = max(l.done, lr.done)
		l.window = lr.window
	}
}

// flushLocked waits until everything queued was appended, or ctx ends.
// sendMu is held, and released while it waits.
func (m *member[T]) flushLocked(ctx context.Context) error {
	for len(m.outbox) > 0 || m.inflight {
		ch := m.flushed
		m.sendMu.Unlock()
		var err error
		select {
		case <-ch:
		case <-m.flusherDone:
			err = m.errOr(fence.ErrClosed)
		case <-ctx.Done():
			err = fence.ContextError(ctx)
		}
		m.sendMu.Lock()
		if err != nil {
			return err
		}
	}
	return nil
}

// flush is flushLocked for a caller that does not hold sendMu.
func (m *member[T]) flush(ctx context.Context) error {
	m.sendMu.Lock()
	defer m.sendMu.Unlock()
	return m.flushLocked(ctx)
}

// flusher appends the queued messages, a batch at a time, until the member
// departed and nothing is queued.
func (m *member[T]) flusher() {
	defer close(m.flusherDone)
	ctx := m.c.ctx
	for {
		m.sendMu.Lock()
		for len(m.outbox) == 0 || m.c.ctx.Err() != nil {
			m.sendMu.Unlock()
			if m.c.ctx.Err() != nil {
				return
			}
			select {
			case <-m.kick:
			case <-m.runCtx.Done():
				return
			}
			m.sendMu.Lock()
		}
		batch := m.outbox[:min(len(m.outbox), maxBatch)]
		m.outbox = m.outbox[len(batch):]
		m.inflight = true
		m.sendMu.Unlock()
		wake, done := m.c.watch.waitRoom(m.sid)
		reply, err := m.runBatch(ctx, batch)
		m.sendMu.Lock()
		left := m.settleLocked(batch, reply, err)
		m.sendMu.Unlock()
		if left {
			m.pause(wake, err)
		}
		done()
	}
}

// settleLocked records a batch's reply. The part that was not processed
// goes back to the front of the queue; it reports whether there is one.
func (m *member[T]) settleLocked(batch []pending, r batchReply, err error) (left bool) {
	m.inflight = false
	switch {
	case err != nil:
	case r.status == "self":
		// The member departed: nothing was sent, nothing more will be,
		// and errs holds its own cause, not a recipient's.
		batch = nil
	default:
		m.applyLinks(r, false)
		m.recordRefusals(r.errs)
		batch = batch[min(r.done, len(batch)):]
	}
	if len(batch) > 0 {
		m.outbox = append(batch[:len(batch):len(batch)], m.outbox...)
		return true
	}
	close(m.flushed)
	m.flushed = make(chan struct{})
	return false
}

// recordRefusals marks the links of refused messages failed: their
// recipients departed, or never were members.
func (m *member[T]) recordRefusals(errs []batchErr) {
	for _, e := range errs {
		if l := m.links[e.to]; e.to != "" && l != nil && l.err == nil {
			l.err = e.err
		}
	}
}

// pause waits before a batch is tried again: for a wake when a window was
// full, a little after a Redis error.
func (m *member[T]) pause(wake <-chan struct{}, err error) {
	if err != nil && !errors.Is(err, context.Canceled) {
		m.c.cfg.Logger.Warn("redisgroup: appending messages", "member", m.id, "err", err)
		time.Sleep(m.c.cfg.Heartbeat / 8)
		return
	}
	select {
	case <-wake:
	case <-m.c.watch.nextTick():
	case <-m.runCtx.Done():
	}
}
