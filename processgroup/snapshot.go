package processgroup

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/managedprocess"
)

// Snapshot is everything a stuck user needs to see: the running members
// with their streams, and every group with its open rounds.
type Snapshot struct {
	Closed  bool
	Members []MemberSnapshot // running members, by ID
	Groups  []GroupSnapshot  // by name
}

// MemberSnapshot is one running member and the groups it belongs to.
type MemberSnapshot struct {
	managedprocess.State
	Groups []string
}

// GroupSnapshot is one group: its members and its open rounds.
type GroupSnapshot struct {
	Name    string
	Members []fence.Identity
	Rounds  []RoundSnapshot // open rounds, by barrier name then number
}

// RoundSnapshot is one open round.
type RoundSnapshot struct {
	Barrier  string
	Round    uint64
	Mode     fence.Mode
	Phase    string // "arriving" or "draining"
	Arrived  []fence.Identity
	Missing  []fence.Identity
	Departed []fence.Departure // failed while the round was open
	Left     []fence.Identity  // left gracefully before arriving
	Lagging  []fence.Lag       // targets not yet met
}

// Snapshot returns the coordinator's current state. It takes locks briefly
// and never waits for progress; the parts are read one after another, so
// they may be a few operations apart.
func (c *Coordinator[T]) Snapshot() Snapshot {
	c.mu.RLock()
	s := Snapshot{Closed: c.closed}
	groups := make([]*Group[T], 0, len(c.groups))
	for _, g := range c.groups {
		groups = append(groups, g)
	}
	recs := make([]*memberRecord[T], 0, len(c.members))
	names := make([][]string, 0, len(c.members))
	for _, rec := range c.members {
		recs = append(recs, rec)
		var gs []string
		for g := range rec.groups {
			gs = append(gs, g.name)
		}
		slices.Sort(gs)
		names = append(names, gs)
	}
	c.mu.RUnlock()
	for i, rec := range recs {
		s.Members = append(s.Members, MemberSnapshot{State: rec.m.Snapshot(), Groups: names[i]})
	}
	slices.SortFunc(s.Members, func(a, b MemberSnapshot) int { return cmp.Compare(a.ID.ID, b.ID.ID) })
	for _, g := range groups {
		s.Groups = append(s.Groups, g.snapshot())
	}
	slices.SortFunc(s.Groups, func(a, b GroupSnapshot) int { return strings.Compare(a.Name, b.Name) })
	return s
}

func (g *Group[T]) snapshot() GroupSnapshot {
	g.mu.Lock()
	defer g.unlock()
	gs := GroupSnapshot{Name: g.name}
	for _, m := range g.view.members {
		gs.Members = append(gs.Members, m.ID())
	}
	sortIDs(gs.Members)
	for _, r := range g.open {
		gs.Rounds = append(gs.Rounds, r.snapshot())
	}
	slices.SortFunc(gs.Rounds, func(a, b RoundSnapshot) int {
		return cmp.Or(strings.Compare(a.Barrier, b.Barrier), cmp.Compare(a.Round, b.Round))
	})
	return gs
}

// snapshot describes r. Callers hold the group's mu.
func (r *round[T]) snapshot() RoundSnapshot {
	rs := RoundSnapshot{
		Barrier: r.barrier.name, Round: r.num, Mode: r.mode, Phase: r.phase.String(),
		Missing: r.notArrived(), Departed: slices.Clone(r.departed), Left: slices.Clone(r.left),
		Lagging: r.lagging(),
	}
	for i, m := range r.view.members {
		if r.is(i, arrivedFlag) {
			rs.Arrived = append(rs.Arrived, m.ID())
		}
	}
	sortIDs(rs.Arrived)
	return rs
}

// String renders the snapshot on several lines, for debugging.
func (s Snapshot) String() string {
	var b strings.Builder
	if s.Closed {
		b.WriteString("closed\n")
	}
	for _, m := range s.Members {
		fmt.Fprintf(&b, "member %s groups=%v\n", m.State, m.Groups)
	}
	for _, g := range s.Groups {
		fmt.Fprintf(&b, "group %s members=%v\n", g.Name, g.Members)
		for _, r := range g.Rounds {
			fmt.Fprintf(&b, "  %s\n", r)
		}
	}
	return b.String()
}

// String renders one round on one line.
func (r RoundSnapshot) String() string {
	s := fmt.Sprintf("%s#%d %s %s arrived=%v missing=%v", r.Barrier, r.Round, r.Mode, r.Phase, r.Arrived, r.Missing)
	if len(r.Departed) > 0 {
		s += fmt.Sprintf(" departed=%v", r.Departed)
	}
	if len(r.Left) > 0 {
		s += fmt.Sprintf(" left=%v", r.Left)
	}
	if len(r.Lagging) > 0 {
		s += fmt.Sprintf(" lagging=%v", r.Lagging)
	}
	return s
}
