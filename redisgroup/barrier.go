package redisgroup

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/managedprocess"
)

// arrival is a member's arrival at one round. From the arrival on, it is
// registered with the coordinator's watcher for the round's outcome (unless
// the arrival finished the round), until a Wait collects it or the member
// departs.
type arrival struct {
	owner interface {
		forgetArrival(string, *arrival)
		Err() error
	}
	diag  func(ctx context.Context) (missing []fence.Identity, lagging []fence.Lag)
	id    fence.Identity
	group string
	name  string
	mode  fence.Mode
	rid   string
	round uint64
	watch *watcher

	mu         sync.Mutex
	busy       bool
	attachable bool // a Barrier's wait gave up: the next Barrier or Arrive attaches
	result     *outcome
	outcome    <-chan string // from the watcher while registered
	unwatch    func()        // ends the registration (unwatchLocked)
}

// settle records the round's outcome out and ends the registration.
func (a *arrival) settle(out string) outcome {
	o := parseOutcome(out)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.result = &o
	a.unwatchLocked()
	return o
}

// unwatchLocked ends the registration with the watcher, if there is one.
func (a *arrival) unwatchLocked() {
	if a.unwatch != nil {
		a.unwatch()
		a.unwatch, a.outcome = nil, nil
	}
}

func (a *arrival) Round() uint64 { return a.round }

// Wait blocks until the round is released, or ctx ends. See
// managedprocess.Arrival.
func (a *arrival) Wait(ctx context.Context) (fence.Result, error) {
	if ctx == nil {
		return fence.Result{}, a.fail(0, fmt.Errorf("%w: nil context", fence.ErrInvalidArgument))
	}
	a.mu.Lock()
	if a.busy {
		a.mu.Unlock()
		return fence.Result{}, a.fail(a.round, fence.ErrBusy)
	}
	if a.result != nil {
		o := *a.result
		a.mu.Unlock()
		a.owner.forgetArrival(a.name, a)
		return o.get(a)
	}
	a.busy = true
	if a.outcome == nil { // the member departed, which ended the registration
		a.outcome, a.unwatch = a.watch.waitRound(a.rid)
	}
	outcome := a.outcome
	a.mu.Unlock()
	defer func() {
		a.mu.Lock()
		a.busy = false
		a.mu.Unlock()
	}()
	select {
	case out := <-outcome:
		o := a.settle(out)
		a.owner.forgetArrival(a.name, a)
		return o.get(a)
	case <-ctx.Done():
		if a.owner.Err() != nil { // departed: nothing collects the arrival
			a.mu.Lock()
			a.unwatchLocked()
			a.mu.Unlock()
		}
		e := a.fail(a.round, fence.ContextError(ctx))
		e.Missing, e.Lagging = a.diag(context.WithoutCancel(ctx))
		return fence.Result{}, e
	}
}

func (a *arrival) fail(round uint64, err error) *fence.Error {
	return &fence.Error{Op: "wait", Group: a.group, Barrier: a.name, Round: round, Mode: a.mode, Member: a.id, Err: err}
}

// outcome is a finished round as the group's scripts encode it.
type outcome struct {
	State string          `json:"s"`
	Who   json.RawMessage `json:"who"`
	Cause string          `json:"cause"`
	Left  json.RawMessage `json:"left"`
	Dep   json.RawMessage `json:"dep"`
}

func parseOutcome(out string) outcome {
	if plainRelease(out) {
		return outcome{State: "ok"}
	}
	var o outcome
	if out == "missing" || json.Unmarshal([]byte(out), &o) != nil {
		return outcome{State: "missing"}
	}
	return o
}

// plainRelease reports whether out is the outcome of a round released with
// nobody left or departed, as the steps write it: the common outcome,
// recognised without decoding JSON.
func plainRelease(out string) bool {
	rest, ok := strings.CutPrefix(out, `{"s":"ok","r":`)
	if !ok {
		return false
	}
	n, ok := strings.CutSuffix(rest, `,"left":{},"dep":{}}`)
	return ok && n != "" && strings.Trim(n, "0123456789") == ""
}

// get returns the round's Result, or its failure as a *fence.Error.
func (o outcome) get(a *arrival) (fence.Result, error) {
	switch o.State {
	case "ok":
		var left []fence.Identity
		for _, p := range list[[]json.RawMessage](o.Left) {
			left = append(left, ident(p))
		}
		var dep []fence.Departure
		for _, p := range list[[]json.RawMessage](o.Dep) {
			if len(p) == 2 {
				var s string
				_ = json.Unmarshal(p[1], &s)
				who, cause := decodeCause(s)
				dep = append(dep, fence.Departure{Member: who, Cause: cause})
			}
		}
		return fence.NewResult(a.round, dep, left), nil
	case "fail":
		who, cause := decodeCause(o.Cause)
		e := a.fail(a.round, cause)
		e.Op = "barrier"
		e.Departed = []fence.Departure{{Member: who, Cause: cause}}
		return fence.Result{}, e
	default:
		return fence.Result{}, a.fail(a.round, ErrStateLost)
	}
}

// list decodes a JSON array, which Redis's cjson encodes as {} when empty.
func list[E any](raw json.RawMessage) []E {
	if len(raw) == 0 {
		return nil
	}
	var out []E
	_ = json.Unmarshal(raw, &out)
	return out
}

// ident decodes an identity encoded as [id, name].
func ident(p []json.RawMessage) fence.Identity {
	var id fence.Identity
	if len(p) == 2 {
		_ = json.Unmarshal(p[0], &id.ID)
		_ = json.Unmarshal(p[1], &id.Name)
	}
	return id
}

// Barrier arrives at the current round of the barrier and waits for it.
func (m *member[T]) Barrier(ctx context.Context, group, name string, mode fence.Mode) (fence.Result, error) {
	a, err := m.Arrive(ctx, group, name, mode)
	if err != nil {
		if e, ok := err.(*fence.Error); ok {
			e.Op = "barrier"
		}
		return fence.Result{}, err
	}
	r, err := a.Wait(ctx)
	if e, ok := err.(*fence.Error); ok {
		e.Op = "barrier"
		if ctx.Err() != nil {
			if ar, ok := a.(*arrival); ok {
				ar.mu.Lock()
				ar.attachable = true
				ar.mu.Unlock()
			}
		}
	}
	return r, err
}

// Arrive records the member's arrival at the current round of the barrier,
// or returns its standing arrival there that no Wait collected yet.
func (m *member[T]) Arrive(ctx context.Context, group, name string, mode fence.Mode) (managedprocess.Arrival, error) {
	refuse := func(err error) error {
		return &fence.Error{Op: "arrive", Group: group, Barrier: name, Mode: mode, Member: m.id, Err: err}
	}
	switch {
	case ctx == nil:
		return nil, refuse(fmt.Errorf("%w: nil context", fence.ErrInvalidArgument))
	case m.isHandlerCtx(ctx):
		return nil, refuse(fence.ErrInHandler)
	case !mode.Valid():
		return nil, refuse(fence.ErrInvalidMode)
	case group != m.c.cfg.Group:
		return nil, refuse(fence.ErrUnknownGroup)
	}
	if err := validName("barrier", name); err != nil {
		return nil, refuse(err)
	}
	m.mu.Lock()
	if a := m.arrivals[name]; a != nil {
		m.mu.Unlock()
		a.mu.Lock()
		defer a.mu.Unlock()
		if !a.attachable || a.busy {
			return nil, refuse(fence.ErrBusy)
		}
		a.attachable = false
		return a, nil
	}
	m.mu.Unlock()
	if err := m.Err(); err != nil {
		return nil, refuse(err)
	}
	seq, clean, err := m.flushForArrival(ctx, mode)
	if err != nil {
		return nil, refuse(m.errOr(err))
	}
	if err := fence.ContextError(ctx); err != nil {
		return nil, refuse(err)
	}
	reply, err := m.arrive(ctx, name, mode, clean)
	if err != nil {
		return nil, refuse(m.errOr(redisErr("arrive", err)))
	}
	switch reply[0] {
	case "notmember":
		return nil, refuse(fence.ErrNotMember)
	case "self":
		s, _ := reply[1].(string)
		_, cause := decodeCause(s)
		return nil, refuse(m.errOr(cause))
	case "mismatch":
		return nil, refuse(fmt.Errorf("%w: the round is a %v", fence.ErrModeMismatch, reply[2]))
	}
	n, _ := reply[1].(int64)
	out, _ := reply[2].(string)
	if targets, _ := reply[3].(int64); mode == fence.DeliveryFence && targets == 0 {
		m.sentClean(seq)
	}
	a := &arrival{owner: m, id: m.id, group: group, name: name, mode: mode,
		rid: strconv.FormatInt(n, 10) + ":" + name, round: uint64(n), watch: m.c.watch}
	a.diag = func(ctx context.Context) ([]fence.Identity, []fence.Lag) { return m.diagnose(ctx, a.rid) }
	if out != "" {
		o := parseOutcome(out)
		a.result = &o
	} else {
		a.outcome, a.unwatch = m.c.watch.waitRound(a.rid)
	}
	m.mu.Lock()
	m.arrivals[name] = a
	m.mu.Unlock()
	return a, nil
}

// flushForArrival waits until everything the member queued was appended,
// under ctx, and returns the member's last seq then and whether, for a
// delivery fence, it is clean: nothing sent since an arrival that found
// everything it had sent handled (see sentClean), so that the arrival can
// skip looking for delivery targets; it has none.
func (m *member[T]) flushForArrival(ctx context.Context, mode fence.Mode) (seq uint64, clean bool, err error) {
	m.sendMu.Lock()
	defer m.sendMu.Unlock()
	if err := m.flushLocked(ctx); err != nil {
		return 0, false, err
	}
	return m.seq, mode == fence.DeliveryFence && m.seq == m.cleanSeq, nil
}

// sentClean records that a delivery arrival, taken when the member's last
// seq was seq, found no delivery target: every message up to seq was
// handled, or its recipient gone. A later seq counts.
func (m *member[T]) sentClean(seq uint64) {
	m.sendMu.Lock()
	m.cleanSeq = max(m.cleanSeq, seq)
	m.sendMu.Unlock()
}

// arrive runs the arrive script. Once sent, the call does not end with ctx:
// a cancelled call could have arrived unknown to the caller. A call that
// fails anyway (Redis unreachable) keeps its token for the member's next
// arrival at the barrier, which Redis then takes for a retry: so a retried
// arrival counts once, whether or not the failed one had counted.
func (m *member[T]) arrive(ctx context.Context, name string, mode fence.Mode, clean bool) ([]any, error) {
	m.mu.Lock()
	token, ok := m.retry[name]
	if !ok {
		m.tokens++
		token = m.tokens
	}
	m.retry[name] = token
	m.mu.Unlock()
	reply, err := m.c.sc.run(context.WithoutCancel(ctx), m.c.sc.arrive, m.sid, name, modeName(mode), token, flag(clean)).Slice()
	if err == nil {
		m.mu.Lock()
		delete(m.retry, name)
		m.mu.Unlock()
	}
	return reply, err
}

func (m *member[T]) forgetArrival(name string, a *arrival) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.arrivals[name] == a {
		delete(m.arrivals, name)
	}
}

// dropArrivals ends the watcher registrations of the arrivals no Wait
// collected or waits for, once the member departed (a Wait that gives up
// then ends its own).
func (m *member[T]) dropArrivals() {
	m.mu.Lock()
	arrivals := slices.Collect(maps.Values(m.arrivals))
	m.mu.Unlock()
	for _, a := range arrivals {
		a.mu.Lock()
		if !a.busy {
			a.unwatchLocked()
		}
		a.mu.Unlock()
	}
}

// diagnose reads who round rid still misses and which targets lag.
func (m *member[T]) diagnose(ctx context.Context, rid string) (missing []fence.Identity, lagging []fence.Lag) {
	s, err := m.c.sc.run(ctx, m.c.sc.diagnose, rid).Text()
	if err != nil {
		return nil, nil
	}
	var d struct {
		Missing json.RawMessage `json:"missing"`
		Lagging json.RawMessage `json:"lagging"`
	}
	if json.Unmarshal([]byte(s), &d) != nil {
		return nil, nil
	}
	for _, p := range list[[]json.RawMessage](d.Missing) {
		missing = append(missing, ident(p))
	}
	for _, p := range list[[]json.RawMessage](d.Lagging) {
		if len(p) != 4 {
			continue
		}
		var l fence.Lag
		l.Recipient, l.Sender = ident(list[json.RawMessage](p[0])), ident(list[json.RawMessage](p[1]))
		_ = json.Unmarshal(p[2], &l.Seq)
		_ = json.Unmarshal(p[3], &l.Delivered)
		lagging = append(lagging, l)
	}
	return missing, lagging
}

func modeName(m fence.Mode) string {
	switch m {
	case fence.Rendezvous:
		return "rendezvous"
	case fence.ProcessingFence:
		return "processing"
	default:
		return "delivery"
	}
}
