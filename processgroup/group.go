package processgroup

import (
	"cmp"
	"fmt"
	"slices"
	"sync"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/internal/member"
	"github.com/muster-go/muster/internal/names"
	"github.com/muster-go/muster/watcher"
)

// Group is a named set of members that meet at barriers. Its methods are
// safe for concurrent use. A Group must not be copied after first use.
type Group[T any] struct {
	c    *Coordinator[T]
	name string
	cfg  groupConfig

	mu          sync.Mutex
	closed      bool
	view        *view[T] // current membership (see view for when it is copied)
	barriers    map[string]*barrier[T]
	lastBarrier *barrier[T]               // the barrier of the latest arrival
	open        []*round[T]               // every open round of every barrier, oldest first
	idle        barrierSweep              // evicts idle barriers from barriers (see evict.go)
	abandoned   map[standing[T]]*round[T] // arrivals whose Barrier call gave up waiting
	watchBuf    []watcher.Target          // submit's buffer for the watcher (which copies it)

	// Rounds finished under mu with parked waiters, woken by unlock once mu
	// is released, so that the waiters do not queue on the lock.
	wake     *round[T]
	wakeMore []*round[T]
}

// wakeAfterUnlock schedules r's parked waiters to be woken when mu is
// released. Callers hold mu.
func (g *Group[T]) wakeAfterUnlock(r *round[T]) {
	if g.wake == nil {
		g.wake = r
		return
	}
	g.wakeMore = append(g.wakeMore, r)
}

// unlock releases mu, then wakes the waiters of the rounds that finished
// while it was held. Every critical section ends with it.
func (g *Group[T]) unlock() {
	one, more := g.wake, g.wakeMore
	g.wake, g.wakeMore = nil, nil
	g.mu.Unlock()
	if one != nil {
		g.wakeParked(one)
	}
	for _, r := range more {
		g.wakeParked(r)
	}
}

// wakeParked leaves a token in the channel of every waiter parked on r,
// which finished, if it has room (a waiter that finds a token looks at its
// round again, so one left over from an earlier round costs only a look),
// and then returns from r like its members: r is not recycled while its
// waiters' channels are read here.
func (g *Group[T]) wakeParked(r *round[T]) {
	for _, ch := range r.wakers {
		leaveToken(ch)
	}
	g.returned(r)
}

// view is a membership list with its index. A round takes the current view
// in O(1) by keeping a pointer and marking it shared; a shared view is never
// changed again (the next change copies it), an unshared one is changed in
// place, so joining or leaving costs O(1) between rounds. A join while rounds
// arrive gives them the new view (or, if they held an older one, a copy of
// theirs with the joiner).
type view[T any] struct {
	members []*member.Member[T]
	index   map[*member.Member[T]]int
	shared  bool // a round holds it; guarded by the group's mu
}

func newView[T any](members []*member.Member[T]) *view[T] {
	v := &view[T]{members: members, index: make(map[*member.Member[T]]int, len(members))}
	for i, m := range members {
		v.index[m] = i
	}
	return v
}

// smallView is the size up to which find scans the members instead of
// hashing: faster for the small groups most barriers have.
const smallView = 8

// find returns m's index in v.
func (v *view[T]) find(m *member.Member[T]) (int, bool) {
	if len(v.members) <= smallView {
		for i, x := range v.members {
			if x == m {
				return i, true
			}
		}
		return 0, false
	}
	i, ok := v.index[m]
	return i, ok
}

// writableView returns the current view, copying it first if a round
// holds it. Callers hold mu.
func (g *Group[T]) writableView() *view[T] {
	if g.view.shared {
		g.view = newView(slices.Clone(g.view.members))
	}
	return g.view
}

// NewGroup creates a group. Errors wrap fence.ErrInvalidName,
// fence.ErrDuplicateName (the group exists) or fence.ErrClosed.
func (c *Coordinator[T]) NewGroup(name string, opts ...GroupOption) (*Group[T], error) {
	if err := checkName("group", name); err != nil {
		return nil, err
	}
	g := &Group[T]{c: c, name: name, view: newView[T](nil), barriers: make(map[string]*barrier[T])}
	for _, o := range opts {
		o.applyGroup(&g.cfg)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.closed:
		return nil, errClosed("new group " + name)
	case c.groups[name] != nil:
		return nil, fmt.Errorf("processgroup: new group %q: %w", name, fence.ErrDuplicateName)
	}
	c.groups[name] = g
	c.groupIndex.Store(name, g)
	return g, nil
}

// Group returns the group called name, or an error wrapping
// fence.ErrUnknownGroup.
// It takes no lock: every barrier call of a member looks its group up.
func (c *Coordinator[T]) Group(name string) (*Group[T], error) {
	if g, ok := c.groupIndex.Load(name); ok {
		return g.(*Group[T]), nil
	}
	return nil, fmt.Errorf("processgroup: group %s: %w", names.Quote(name), fence.ErrUnknownGroup)
}

// Name returns the group's name.
func (g *Group[T]) Name() string { return g.name }

// Members returns the current members, ordered by ID.
func (g *Group[T]) Members() []fence.Identity {
	g.mu.Lock()
	ids := make([]fence.Identity, len(g.view.members))
	for i, m := range g.view.members {
		ids[i] = m.ID()
	}
	g.unlock()
	sortIDs(ids)
	return ids
}

// appendMembers appends the current members to dst.
func (g *Group[T]) appendMembers(dst []*member.Member[T]) []*member.Member[T] {
	g.mu.Lock()
	defer g.unlock()
	return append(dst, g.view.members...)
}

// sortIDs orders identities by ID, for stable output.
func sortIDs(ids []fence.Identity) {
	slices.SortFunc(ids, func(a, b fence.Identity) int { return cmp.Compare(a.ID, b.ID) })
}

// Join adds a running member of this coordinator to the group. It takes part
// in every round that is still arriving when Join returns (not every member
// it expects has arrived: the round now expects m too) and in every round
// that starts later; a round that is draining (everyone arrived) goes on
// without it. Joining twice is a no-op. Errors wrap fence.ErrUnknownMember
// (not running here) or fence.ErrClosed.
func (g *Group[T]) joinCall(m *member.Member[T]) error {
	c := g.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return errClosed("join " + g.name)
	}
	rec := c.record(m)
	if rec == nil {
		return fmt.Errorf("processgroup: join %q: member %v: %w", g.name, idOf(m), fence.ErrUnknownMember)
	}
	rec.groups[g] = struct{}{}
	g.join(m)
	return nil
}

// Leave removes m from the group gracefully, as a member whose run function
// returns nil leaves its groups (like java.util.concurrent.Phaser's
// arriveAndDeregister): every open round that expected m and that m had not
// arrived at goes on without it and lists it in Result.Left; what m sent
// before leaving stays fenced in those rounds, as if it had arrived (a
// DeliveryFence waits for its messages, a ProcessingFence keeps watching its
// links). A round m had arrived at is unaffected. m keeps running and may
// join again: a round still arriving then expects it again. Errors wrap
// fence.ErrNotMember.
func (g *Group[T]) leaveCall(m *member.Member[T]) error {
	c := g.c
	c.mu.Lock()
	rec := c.record(m)
	_, in := rec.groupsOf()[g]
	if in {
		delete(rec.groups, g)
	}
	c.mu.Unlock()
	if !in {
		return fmt.Errorf("processgroup: leave %q: member %v: %w", g.name, idOf(m), fence.ErrNotMember)
	}
	g.leave(m)
	return nil
}

// record returns m's record if m runs in this coordinator. Callers hold c.mu.
func (c *Coordinator[T]) record(m *member.Member[T]) *memberRecord[T] {
	if m == nil {
		return nil
	}
	rec := c.members[m.ID().Name]
	if rec == nil || rec.m != m {
		return nil
	}
	return rec
}

// groupsOf tolerates a nil record.
func (rec *memberRecord[T]) groupsOf() map[*Group[T]]struct{} {
	if rec == nil {
		return nil
	}
	return rec.groups
}

func idOf[T any](m *member.Member[T]) fence.Identity {
	if m == nil {
		return fence.Identity{Name: "<nil>"}
	}
	return m.ID()
}

// join adds m to the membership and to every open round still arriving.
func (g *Group[T]) join(m *member.Member[T]) {
	g.mu.Lock()
	defer g.unlock()
	if _, ok := g.view.find(m); ok {
		return
	}
	old := g.view
	v := g.writableView()
	v.index[m] = len(v.members)
	v.members = append(v.members, m)
	for _, r := range g.open {
		if r.phase == arriving {
			r.expect(m, old, v)
		}
	}
}

// leave takes m out of the membership gracefully and settles its open
// rounds (see Leave). Its cost is linear in the group's open rounds, not in
// the barrier names it used.
func (g *Group[T]) leave(m *member.Member[T]) {
	g.mu.Lock()
	defer g.unlock()
	if !g.dropMember(m) {
		return
	}
	for _, r := range slices.Clone(g.open) {
		g.leaveRound(r, m)
	}
}

// remove takes m out of the membership because it failed with cause, and
// settles its open rounds: they fail, or complete for the survivors. Its
// cost is linear in the group's open rounds, not in the barrier names it
// used.
func (g *Group[T]) remove(m *member.Member[T], cause error) {
	g.mu.Lock()
	defer g.unlock()
	if !g.dropMember(m) {
		return
	}
	for _, r := range slices.Clone(g.open) {
		g.departRound(r, m, cause)
	}
}

// dropMember takes m out of the current view and forgets its standing
// arrivals; it reports whether m was a member. Callers hold mu.
func (g *Group[T]) dropMember(m *member.Member[T]) bool {
	if _, ok := g.view.find(m); !ok {
		return false
	}
	v := g.writableView()
	i, last := v.index[m], len(v.members)-1
	v.members[i] = v.members[last]
	v.index[v.members[i]] = i
	v.members[last] = nil
	v.members = v.members[:last]
	delete(v.index, m)
	g.forgetStanding(m)
	return true
}
