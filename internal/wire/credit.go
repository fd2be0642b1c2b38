package wire

import (
	"context"
	"fmt"
	"time"

	"github.com/muster-go/muster/fence"
)

// A member side sends without waiting for the coordinator: it resolves a
// recipient once (a Resolve call, whose reply names the recipient and
// grants credit), and from then on posts each message to it (in a Post
// frame, alone or in a run: see run.go; no reply) while it has credit.
// Credit is a limit on the posts of the
// link: a post outside a handler needs posted < limit; a handler's post is
// exempt, as a handler's send is in process, but counts. When the posts
// reach the limit, one Credit call per link asks for more: the coordinator
// replies once the recipient's window has room, with the limit raised by
// that room; the link's other senders wait here meanwhile. So that a busy
// sender does not stall for that round trip, the post that spends half of
// what a grant added makes the call early, in the background: its reply
// usually raises the limit before the sender reaches it. It only takes the
// room there is: if it raises nothing, the next call is made when the
// limit is reached, and waits. The coordinator
// counts the posts it read in the same order, so it knows the exact limit
// in force for each one and refuses a post beyond it (see the coordinator's
// side). A recipient that departs revokes its links (a Revoke frame, which
// the member side answers with Revoked once it forgot the link); a post
// that reaches the coordinator after the departure is dropped there, and
// the member side's next send to that recipient resolves it again and fails
// as a send to a departed member does.

// outLink is the member side's credit on its link to one recipient.
type outLink struct {
	to     fence.Identity
	posted uint64        // posts made on the link, handlers' included
	limit  uint64        // posts outside a handler need posted < limit
	refill uint64        // the post at which to ask for more early; 0: none
	asking chan struct{} // non-nil while a Credit call is out; closed when it returned
	spends uint64        // how many times spend lowered the limit: a call made before raises nothing
}

// raise records a grant of limit. One that raises the limit by two or more
// asks for more early once half of that is spent.
func (l *outLink) raise(limit uint64) {
	if limit <= l.limit {
		return
	}
	l.limit, l.refill = limit, 0
	if added := limit - l.posted; added >= 2 {
		l.refill = l.posted + added/2
	}
}

// outLinks are a member side's links, by recipient ID and by the names it
// sent to, with the last one found by name at hand. Guarded by the Remote's
// mu.
type outLinks struct {
	byID     map[uint64]*outLink
	byName   map[string]uint64
	lastName string   // the name last found
	last     *outLink // its link; nil if none is at hand
}

// find returns the link a send goes on: by name, or, with an empty name, by
// identity; nil if there is none yet.
func (ls *outLinks) find(name string, id fence.Identity) *outLink {
	if name != "" {
		if ls.last != nil && name == ls.lastName {
			return ls.last
		}
		n, ok := ls.byName[name]
		if !ok {
			return nil
		}
		if l := ls.byID[n]; l != nil {
			ls.lastName, ls.last = name, l
			return l
		}
		return nil
	}
	if l := ls.byID[id.ID]; l != nil && l.to == id {
		return l
	}
	return nil
}

// grant records a resolve's reply: the recipient to (under name, if any)
// and the limit the coordinator granted.
func (ls *outLinks) grant(name string, to fence.Identity, limit uint64) {
	if ls.byID == nil {
		ls.byID, ls.byName = make(map[uint64]*outLink), make(map[string]uint64)
	}
	l := ls.byID[to.ID]
	if l == nil {
		l = &outLink{to: to}
		ls.byID[to.ID] = l
	}
	l.raise(limit)
	if name != "" {
		ls.byName[name] = to.ID
		ls.last = nil
	}
}

// forget removes the link to id and the names that led to it.
func (ls *outLinks) forget(id uint64) {
	if ls.byID[id] == nil {
		return
	}
	delete(ls.byID, id)
	ls.last = nil
	for name, n := range ls.byName {
		if n == id {
			delete(ls.byName, name)
		}
	}
}

// spend makes every link ask for credit before its next post outside a
// handler: a publish queued on links the member side does not count. The
// grant of a call made before (one still out) raises nothing.
func (ls *outLinks) spend() {
	for _, l := range ls.byID {
		l.limit, l.refill = min(l.limit, l.posted), 0
		l.spends++
	}
}

// send posts body to the recipient called name or, with an empty name, to
// id: resolving it first if it never did, asking for credit when it has
// none left (with try, failing with fence.ErrWouldBlock instead of waiting).
// It fails as a send in process does, or with the connection's end.
func (r *Remote[T]) send(ctx context.Context, name string, id fence.Identity, body []byte, try bool) error {
	handler := r.inHandler(ctx)
	for {
		r.mu.Lock()
		if err := r.refusesSends(); err != nil {
			r.mu.Unlock()
			return err
		}
		l := r.links.find(name, id)
		switch {
		case l == nil:
			r.mu.Unlock()
			if err := r.resolve(ctx, name, id); err != nil {
				return err
			}
		case r.limit > 0 && postSize(l.to, body) > r.limit:
			r.mu.Unlock()
			return fmt.Errorf("wire: %s: send to %s: a message of %d bytes, encoded, does not fit a frame (limit %d bytes): %w",
				r.id, l.to, len(body), r.limit, fence.ErrInvalidArgument)
		case handler || l.posted < l.limit:
			l.posted++
			r.out.Post(l.to, handler, body) // under mu: posts go out in the order counted
			if l.posted == l.refill && l.asking == nil {
				r.askEarly(l)
			}
			r.mu.Unlock()
			return nil
		case l.asking != nil && try:
			r.mu.Unlock()
			return fmt.Errorf("wire: %s: send to %s: %w", r.id, l.to, fence.ErrWouldBlock)
		case l.asking != nil:
			asking := l.asking
			r.mu.Unlock()
			if err := r.waitAsking(ctx, asking, l.to); err != nil {
				return err
			}
		default:
			l.asking = make(chan struct{})
			spends := l.spends
			r.mu.Unlock()
			if err := r.askCredit(ctx, l, spends, try); err != nil {
				return err
			}
		}
	}
}

// refusesSends returns the error of a send once the member departed or the
// connection ended. Callers hold mu.
func (r *Remote[T]) refusesSends() error {
	switch {
	case r.departed != nil:
		return fmt.Errorf("wire: %s: send: %w", r.id, r.departed)
	case r.left != nil:
		return fmt.Errorf("wire: %s: send: sender departed: %w", r.id, r.left)
	}
	return nil
}

// resolve asks the coordinator for the recipient and its first credit.
func (r *Remote[T]) resolve(ctx context.Context, name string, id fence.Identity) error {
	f := &Frame{Op: OpResolve, Name: name}
	if name == "" {
		f.To = &id
	}
	reply := r.call(ctx, f)
	if err := errOf(reply); err != nil {
		return err
	}
	if reply.To == nil {
		return fmt.Errorf("wire: %s: a resolve's reply names no recipient: %w", r.id, ErrBadFrame)
	}
	r.mu.Lock()
	r.links.grant(name, *reply.To, reply.Count)
	r.mu.Unlock()
	return nil
}

// askCredit makes l's Credit call, which the caller marked as out when
// spend had run spends times. A publish between the two may have taken room
// the grant did not see (the coordinator serves the two calls apart): then
// the grant raises nothing, and the next send asks again.
func (r *Remote[T]) askCredit(ctx context.Context, l *outLink, spends uint64, try bool) error {
	reply := r.call(ctx, &Frame{Op: OpCredit, To: &l.to, Try: try})
	r.mu.Lock()
	close(l.asking)
	l.asking = nil
	err := errOf(reply)
	if err == nil && l.spends == spends {
		l.raise(reply.Count)
	}
	r.mu.Unlock()
	return err
}

// askEarly makes l's Credit call in the background, with the member's
// context and as a try: it takes the room there is and never waits for
// more on the coordinator's side (where a wait would show as a send
// waiting for room), and no send waits for it unless it reaches the limit
// first. Its error (fence.ErrWouldBlock when there is no room) is for the
// next call to meet. Callers hold mu.
func (r *Remote[T]) askEarly(l *outLink) {
	l.refill = 0
	l.asking = make(chan struct{})
	go r.askCredit(r.ctx, l, l.spends, true) // its error is the next call's
}

// waitAsking waits for another send's Credit call on the link to to.
func (r *Remote[T]) waitAsking(ctx context.Context, asking <-chan struct{}, to fence.Identity) error {
	start := time.Now()
	select {
	case <-asking:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wire: %s: send to %s: window full for %v: %w", r.id, to,
			time.Since(start).Round(time.Microsecond), fence.ContextError(ctx))
	}
}

// revoked forgets the link to id, which the coordinator revoked, and says
// so; later sends to its recipient resolve it again (and fail as in process
// if it departed).
func (r *Remote[T]) revoked(id fence.Identity) {
	r.mu.Lock()
	r.links.forget(id.ID)
	r.out.Send(&Frame{Op: OpRevoked, To: &id}) // under mu: after every post on the link
	r.mu.Unlock()
}
