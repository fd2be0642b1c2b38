package processgroup

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/internal/member"
	"github.com/muster-go/muster/internal/wire"
)

// grants are the credit a member side holds on its links, as the
// coordinator's side of its wire counts it (see the wire package: a member
// side resolves a recipient, then posts to it within credit). The member
// side counts its posts in the order it sends them, and the coordinator in
// the order it reads them, so both know the limit in force for every post:
// one beyond it is refused. A link's grant lives until its recipient
// departed and the member side answered the revoke.
type grants[T any] struct {
	mu   sync.Mutex
	byID map[uint64]*grant[T]
}

// grant is the credit on one link.
type grant[T any] struct {
	to      *member.Member[T]
	posted  uint64 // posts read, handlers' included
	limit   uint64 // the highest limit granted: posts outside a handler need posted < limit
	revoked bool   // the recipient departed: posts are dropped, Revoked is due
}

// errReplied is what a call returns that sent its own reply.
var errReplied = errors.New("processgroup: replied")

// grantCredit serves a resolve (which never waits) or a credit call (which
// waits for room in the window unless it is a try): it resolves the
// recipient, grants the room in its window as credit and replies itself
// (see grant), returning errReplied; or it returns the error to reply.
func (ep *wireEnd[T]) grantCredit(ctx context.Context, f *wire.Frame, reply *wire.Frame) error {
	var id fence.Identity
	if f.To != nil {
		id = *f.To
	}
	name := ""
	if f.Op == wire.OpResolve {
		name = f.Name
	}
	r, err := ep.shadow.Recipient(name, id)
	if err != nil {
		return err
	}
	wait := f.Op == wire.OpCredit && !f.Try
	for {
		if wait {
			if _, err := ep.shadow.Room(ctx, r, true); err != nil {
				return err
			}
		}
		if granted, err := ep.grant(r, f, reply); granted || err != nil {
			return err
		}
		// A handler's posts took the room meanwhile: wait again.
	}
}

// grant raises the limit of the link to r by the room in its window and
// sends the reply, under the grants' lock, so that a revoke of the link
// never overtakes the reply; it returns errReplied. With no room it
// reports false (a credit call waits again), or the refusal of a try.
func (ep *wireEnd[T]) grant(r *member.Member[T], f *wire.Frame, reply *wire.Frame) (granted bool, err error) {
	gs := &ep.credit
	gs.mu.Lock()
	defer gs.mu.Unlock()
	room, err := ep.shadow.Room(context.Background(), r, false)
	switch {
	case err != nil:
		return false, err
	case room == 0 && f.Op == wire.OpCredit && f.Try:
		return false, fmt.Errorf("managedprocess: %v: send to %v: %w", ep.shadow.ID(), r.ID(), fence.ErrWouldBlock)
	case room == 0 && f.Op == wire.OpCredit:
		return false, nil
	}
	g := gs.link(r, ep)
	if g.revoked { // the recipient departed after it resolved
		return false, fmt.Errorf("managedprocess: %v: send to %v: %w", ep.shadow.ID(), r.ID(), cmp.Or(r.Err(), fence.ErrUnknownMember))
	}
	g.limit = max(g.limit, g.posted+room)
	to := r.ID()
	reply.To, reply.Count = &to, g.limit
	ep.toFar.Send(reply)
	return true, errReplied
}

// link returns ep's grant on the link to r, making it. Callers hold mu.
func (gs *grants[T]) link(r *member.Member[T], ep *wireEnd[T]) *grant[T] {
	g := gs.byID[r.ID().ID]
	if g == nil {
		if gs.byID == nil {
			gs.byID = make(map[uint64]*grant[T])
		}
		g = &grant[T]{to: r}
		gs.byID[r.ID().ID] = g
		ep.c.holders.add(r.ID().ID, ep)
	}
	return g
}

// forgetGrants takes ep off the holders once its member retired: its
// grants stay, so that what it still posts is read (and refused by its
// departed stream, which revokes the link), but nothing needs revoking.
func (ep *wireEnd[T]) forgetGrants() {
	gs := &ep.credit
	gs.mu.Lock()
	ids := make([]uint64, 0, len(gs.byID))
	for id := range gs.byID {
		ids = append(ids, id)
	}
	gs.mu.Unlock()
	ep.c.holders.remove(ep, ids)
}

// post takes the sends of a post frame, which the member side made within
// its credit (or from its handler): it queues its messages as the shadow's,
// in order, without waiting. It returns the error that refuses the frame: a
// post to a link never granted, beyond the limit, or with a body that does
// not decode. A post to a recipient that departed is dropped, and revokes
// the link.
func (ep *wireEnd[T]) post(f *wire.Frame) error {
	if f.To == nil {
		return &wire.FrameError{Reason: "a send to nobody"}
	}
	gs := &ep.credit
	gs.mu.Lock()
	defer gs.mu.Unlock()
	g := gs.byID[f.To.ID]
	switch {
	case g == nil || g.to.ID() != *f.To:
		return &wire.FrameError{Reason: fmt.Sprintf("a send to %v, which it was granted no credit for", *f.To)}
	case !f.Handler && g.posted+f.Count > g.limit:
		return &wire.FrameError{Reason: fmt.Sprintf("%d sends to %v beyond its credit (%d sent, limit %d)", f.Count, *f.To, g.posted, g.limit)}
	}
	g.posted += f.Count
	switch {
	case g.revoked:
	case g.to.Forwards(): // to another wire: relayed as it came, the run whole
		if err := ep.shadow.PostRun(g.to, ep.relayed.copy(f.Body, uint32(f.Count))); err != nil {
			ep.revokeLocked(g)
		}
	default:
		for run := f.Body; len(run) > 0 && !g.revoked; {
			var body []byte
			body, run = wire.NextMessage(run)
			if err := ep.postOne(g, body); err != nil {
				return err
			}
		}
	}
	return nil
}

// postOne queues one message of a post on the link g to a member in
// process, which decodes it. Callers hold the grants' lock.
func (ep *wireEnd[T]) postOne(g *grant[T], body []byte) error {
	var zero T
	// What the codec decodes into: a local one would escape to the heap
	// through it. The body is the reader's: the codec may keep a part of it.
	ep.decoded = zero
	if err := ep.c.codec.Decode(bytes.Clone(body), &ep.decoded); err != nil {
		return &wire.FrameError{Reason: "a message that does not decode", Err: err}
	}
	if err := ep.shadow.Post(g.to, ep.decoded); err != nil {
		ep.revokeLocked(g)
	}
	ep.decoded = zero // not kept alive until the next post
	return nil
}

// revokeRecipient revokes the link to the member id, which departed, if
// the member side has one.
func (ep *wireEnd[T]) revokeRecipient(id uint64) {
	gs := &ep.credit
	gs.mu.Lock()
	if g := gs.byID[id]; g != nil && !g.revoked {
		ep.revokeLocked(g)
	}
	gs.mu.Unlock()
}

// revokeLocked tells the member side that the link g is gone. Callers hold
// the grants' lock.
func (ep *wireEnd[T]) revokeLocked(g *grant[T]) {
	g.revoked = true
	to := g.to.ID()
	ep.toFar.Send(&wire.Frame{Op: wire.OpRevoke, To: &to})
}

// revoked takes the member side's answer to a revoke: it forgot the link,
// so no post on it follows.
func (ep *wireEnd[T]) revoked(f *wire.Frame) {
	if f.To == nil {
		return
	}
	gs := &ep.credit
	gs.mu.Lock()
	if g := gs.byID[f.To.ID]; g != nil && g.revoked {
		delete(gs.byID, f.To.ID)
	}
	gs.mu.Unlock()
}
