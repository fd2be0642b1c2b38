package tests

import (
	"context"
	"testing"
	"time"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/managedprocess"
	"github.com/muster-go/muster/processgroup"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// badEnv is a coordinator with group g = {A, B} and Z outside g. A's handler
// runs the hook it is sent (see inHandler).
type badEnv struct {
	ctx     context.Context
	c       *processgroup.Coordinator[msg]
	g       *processgroup.Group[msg]
	a, b, z managedprocess.Member[msg]
	hook    func(hctx context.Context) error // set before the message that runs it is sent
	hookErr chan error
}

func newBadEnv(t *testing.T) *badEnv {
	e := &badEnv{ctx: testCtx(t), c: newCoordinator(t), hookErr: make(chan error, 1)}
	e.g = newGroup(t, e.c, "g")
	e.a = spawnIdle(t, e.c, "A", func(hctx context.Context, _ managedprocess.Message[msg]) {
		if e.hook != nil {
			e.hookErr <- e.hook(hctx)
		}
	}, "g")
	e.b = spawnIdle(t, e.c, "B", nil, "g")
	e.z = spawnIdle(t, e.c, "Z", nil)
	return e
}

// inHandler runs f inside A's handler and returns its error.
func (e *badEnv) inHandler(t *testing.T, f func(hctx context.Context) error) error {
	e.hook = f
	require.NoError(t, e.b.SendTo(e.ctx, e.a.ID(), msg{}))
	return within(t, e.hookErr)
}

// TestBadInput: every refused call returns its sentinel and changes nothing
// the snapshot shows (no member, group or round added, no arrival counted).
func TestBadInput(t *testing.T) {
	const df = fence.DeliveryFence
	barrierErr := func(_ fence.Result, err error) error { return err }
	arriveErr := func(_ managedprocess.Arrival, err error) error { return err }
	spawnErr := func(_ managedprocess.Member[msg], err error) error { return err }
	groupErr := func(_ *processgroup.Group[msg], err error) error { return err }

	cases := []struct {
		name  string
		setup func(t *testing.T, e *badEnv)
		call  func(t *testing.T, e *badEnv) error
		want  error
		// handler cases send a message: member counters change, so only the
		// groups are compared.
		onlyGroups bool
	}{
		{name: "empty member name", want: fence.ErrInvalidName, call: func(t *testing.T, e *badEnv) error {
			return spawnErr(e.c.Spawn(e.ctx, processgroup.Spec[msg]{Name: "", Groups: []string{"g"}}))
		}},
		{name: "reserved member name", want: fence.ErrInvalidName, call: func(t *testing.T, e *badEnv) error {
			return spawnErr(e.c.Spawn(e.ctx, processgroup.Spec[msg]{Name: "muster.m", Groups: []string{"g"}}))
		}},
		{name: "empty group name", want: fence.ErrInvalidName, call: func(t *testing.T, e *badEnv) error {
			return groupErr(e.c.NewGroup(""))
		}},
		{name: "reserved group name", want: fence.ErrInvalidName, call: func(t *testing.T, e *badEnv) error {
			return groupErr(e.c.NewGroup("muster.g"))
		}},
		{name: "empty barrier name", want: fence.ErrInvalidName, call: func(t *testing.T, e *badEnv) error {
			return barrierErr(e.a.Barrier(e.ctx, e.g.Name(), "", df))
		}},
		{name: "reserved barrier name", want: fence.ErrInvalidName, call: func(t *testing.T, e *badEnv) error {
			return barrierErr(e.a.Barrier(e.ctx, e.g.Name(), "muster.b", df))
		}},
		{name: "reserved barrier name on Arrive", want: fence.ErrInvalidName, call: func(t *testing.T, e *badEnv) error {
			return arriveErr(e.a.Arrive(e.ctx, e.g.Name(), "muster.b", df))
		}},
		{name: "non-member caller", want: fence.ErrNotMember, call: func(t *testing.T, e *badEnv) error {
			return barrierErr(e.z.Barrier(e.ctx, e.g.Name(), "x", df))
		}},
		{name: "non-member caller with an open round", want: fence.ErrNotMember,
			setup: func(t *testing.T, e *badEnv) { arrive(t, e.ctx, e.g, e.a, "x", df) },
			call: func(t *testing.T, e *badEnv) error {
				return arriveErr(e.z.Arrive(e.ctx, e.g.Name(), "x", df))
			}},
		{name: "unknown group", want: fence.ErrUnknownGroup, call: func(t *testing.T, e *badEnv) error {
			return barrierErr(e.a.Barrier(e.ctx, "no such group", "x", df))
		}},
		{name: "arrive at an unknown group", want: fence.ErrUnknownGroup, call: func(t *testing.T, e *badEnv) error {
			return arriveErr(e.a.Arrive(e.ctx, "no such group", "x", df))
		}},
		{name: "join an unknown group", want: fence.ErrUnknownGroup, call: func(t *testing.T, e *badEnv) error {
			return e.a.Join("no such group")
		}},
		{name: "leave by non-member", want: fence.ErrNotMember, call: func(t *testing.T, e *badEnv) error {
			return e.z.Leave(e.g.Name())
		}},
		{name: "arrive twice", want: fence.ErrBusy,
			setup: func(t *testing.T, e *badEnv) { arrive(t, e.ctx, e.g, e.a, "x", df) },
			call: func(t *testing.T, e *badEnv) error {
				return arriveErr(e.a.Arrive(e.ctx, e.g.Name(), "x", df))
			}},
		{name: "barrier while arrived", want: fence.ErrBusy,
			setup: func(t *testing.T, e *badEnv) { arrive(t, e.ctx, e.g, e.a, "x", df) },
			call: func(t *testing.T, e *badEnv) error {
				return barrierErr(e.a.Barrier(e.ctx, e.g.Name(), "x", df))
			}},
		{name: "mode mismatch", want: fence.ErrModeMismatch,
			setup: func(t *testing.T, e *badEnv) { arrive(t, e.ctx, e.g, e.a, "x", df) },
			call: func(t *testing.T, e *badEnv) error {
				return barrierErr(e.b.Barrier(e.ctx, e.g.Name(), "x", fence.Rendezvous))
			}},
		{name: "invalid mode", want: fence.ErrInvalidMode, call: func(t *testing.T, e *badEnv) error {
			return barrierErr(e.a.Barrier(e.ctx, e.g.Name(), "x", fence.Mode(9)))
		}},
		{name: "invalid mode on Arrive with an open round", want: fence.ErrInvalidMode,
			setup: func(t *testing.T, e *badEnv) { arrive(t, e.ctx, e.g, e.a, "x", df) },
			call: func(t *testing.T, e *badEnv) error {
				return arriveErr(e.b.Arrive(e.ctx, e.g.Name(), "x", fence.Mode(9)))
			}},
		{name: "Barrier in own handler", want: fence.ErrInHandler, onlyGroups: true, call: func(t *testing.T, e *badEnv) error {
			return e.inHandler(t, func(hctx context.Context) error { return barrierErr(e.a.Barrier(hctx, e.g.Name(), "x", df)) })
		}},
		{name: "Arrive for another member in a handler", want: fence.ErrInHandler, onlyGroups: true, call: func(t *testing.T, e *badEnv) error {
			return e.inHandler(t, func(hctx context.Context) error { return arriveErr(e.b.Arrive(hctx, e.g.Name(), "x", df)) })
		}},
		{name: "Wait in a handler", want: fence.ErrInHandler, onlyGroups: true,
			call: func(t *testing.T, e *badEnv) error {
				arr := arrive(t, e.ctx, e.g, e.a, "x", df)
				before := groupSnap(e.c, "g")
				err := e.inHandler(t, func(hctx context.Context) error { return barrierErr(arr.Wait(hctx)) })
				assert.Equal(t, before, groupSnap(e.c, "g"))
				// The refused Wait did not hold the call flag: a real Wait is not busy.
				out := goWait(e.ctx, arr)
				require.NoError(t, barrierErr(e.b.Barrier(e.ctx, e.g.Name(), "x", df)))
				require.NoError(t, within(t, out).err)
				return err
			}},
		{name: "WaitForDeliveryFence in own handler", want: fence.ErrInHandler, onlyGroups: true, call: func(t *testing.T, e *badEnv) error {
			return e.inHandler(t, func(hctx context.Context) error { return e.a.WaitForDeliveryFence(hctx) })
		}},
		{name: "RunAfterCurrentHandler outside a handler", want: fence.ErrNotInHandler, call: func(t *testing.T, e *badEnv) error {
			return e.a.RunAfterCurrentHandler(e.ctx, func() { t.Error("ran") })
		}},
		{name: "RunAfterCurrentHandler with another member's handler ctx", want: fence.ErrNotInHandler, onlyGroups: true, call: func(t *testing.T, e *badEnv) error {
			return e.inHandler(t, func(hctx context.Context) error {
				return e.b.RunAfterCurrentHandler(hctx, func() { t.Error("ran") })
			})
		}},
		{name: "Send to unknown member", want: fence.ErrUnknownMember, call: func(t *testing.T, e *badEnv) error {
			return e.a.Send(e.ctx, "nobody", msg{})
		}},
		{name: "TrySend to unknown member", want: fence.ErrUnknownMember, call: func(t *testing.T, e *badEnv) error {
			return e.a.TrySend("nobody", msg{})
		}},
		{name: "Publish to unknown group", want: fence.ErrUnknownGroup, call: func(t *testing.T, e *badEnv) error {
			return e.a.Publish(e.ctx, "nope", msg{})
		}},
		{name: "duplicate member name", want: fence.ErrDuplicateName, call: func(t *testing.T, e *badEnv) error {
			return spawnErr(e.c.Spawn(e.ctx, processgroup.Spec[msg]{Name: "A"}))
		}},
		{name: "duplicate group name", want: fence.ErrDuplicateName, call: func(t *testing.T, e *badEnv) error {
			return groupErr(e.c.NewGroup("g"))
		}},
		{name: "unknown group in Spec", want: fence.ErrUnknownGroup, call: func(t *testing.T, e *badEnv) error {
			// "g" exists: the spawn must not join it partially.
			return spawnErr(e.c.Spawn(e.ctx, processgroup.Spec[msg]{Name: "N", Groups: []string{"g", "nope"}}))
		}},
		{name: "unknown group lookup", want: fence.ErrUnknownGroup, call: func(t *testing.T, e *badEnv) error {
			return groupErr(e.c.Group("nope"))
		}},
		{name: "calls after Close", want: fence.ErrClosed,
			setup: func(t *testing.T, e *badEnv) { require.NoError(t, e.c.Close(e.ctx)) },
			call: func(t *testing.T, e *badEnv) error {
				errs := []error{
					spawnErr(e.c.Spawn(e.ctx, processgroup.Spec[msg]{Name: "N"})),
					groupErr(e.c.NewGroup("h")),
					barrierErr(e.a.Barrier(e.ctx, e.g.Name(), "x", df)),
					arriveErr(e.a.Arrive(e.ctx, e.g.Name(), "x", df)),
					e.a.Join(e.g.Name()),
					e.a.SendTo(e.ctx, e.b.ID(), msg{}),
				}
				for i, err := range errs[1:] {
					assert.ErrorIs(t, err, fence.ErrClosed, "call %d", i+1)
				}
				return errs[0]
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newBadEnv(t)
			if tc.setup != nil {
				tc.setup(t, e)
			}
			before := e.c.Snapshot()
			err := tc.call(t, e)
			require.ErrorIs(t, err, tc.want)
			after := e.c.Snapshot()
			if tc.onlyGroups {
				assert.Equal(t, before.Groups, after.Groups, "groups changed")
				assert.Equal(t, memberNames(before), memberNames(after), "members changed")
			} else {
				assert.Equal(t, before, after, "state changed:\nbefore:\n%s\nafter:\n%s", before, after)
			}
		})
	}
}

// TestBadInputConcurrentWait: of two concurrent Waits on one Arrival, one is
// refused with ErrBusy at once; the other gets the round's result.
func TestBadInputConcurrentWait(t *testing.T) {
	e := newBadEnv(t)
	arr := arrive(t, e.ctx, e.g, e.a, "x", fence.DeliveryFence)
	before := e.c.Snapshot()
	w1, w2 := goWait(e.ctx, arr), goWait(e.ctx, arr)
	var first outcome
	var other <-chan outcome
	select { // the round cannot release before B arrives: one Wait must be refused
	case first = <-w1:
		other = w2
	case first = <-w2:
		other = w1
	case <-time.After(bound):
		t.Fatal("neither Wait was refused")
	}
	fe := fenceErr(t, first.err, fence.ErrBusy)
	assert.EqualValues(t, 1, fe.Round)
	assert.Equal(t, "A", fe.Member.Name)
	assert.Equal(t, before, e.c.Snapshot())
	res, err := e.b.Barrier(e.ctx, e.g.Name(), "x", fence.DeliveryFence)
	require.NoError(t, err)
	o := within(t, other)
	require.NoError(t, o.err)
	assert.Equal(t, res, o.res)
}

func memberNames(s processgroup.Snapshot) []string {
	var out []string
	for _, m := range s.Members {
		out = append(out, m.ID.Name)
	}
	return out
}
