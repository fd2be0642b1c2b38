package process

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/managedprocess"
	"github.com/muster-go/muster/processgroup"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The core's scenarios with child members: outbound fences, publishing,
// joining a draining round, retrying a barrier, Goexit, what a Snapshot
// shows of a stuck child, and Close dropping what a child has queued.

// collector spawns member "collector", which passes on what it is sent.
func collector(t *testing.T, c *processgroup.Coordinator[msg]) <-chan msg {
	t.Helper()
	got := make(chan msg, 16)
	_, err := c.Spawn(testCtx(t), processgroup.Spec[msg]{Name: "collector",
		Handler: func(_ context.Context, m managedprocess.Message[msg]) { got <- m.Body }})
	require.NoError(t, err)
	return got
}

// TestProcessOutboundFence: a child's outbound fence returns only once its
// recipients handled every task it dispatched, though one of them takes
// its time; and with a recipient stuck, the fence's timeout crosses back as
// a *fence.Error that names the stream that lags.
func TestProcessOutboundFence(t *testing.T) {
	const workers, tasks = 3, 300
	env := []string{envWorkers + "=" + strconv.Itoa(workers), envCount + "=" + strconv.Itoa(tasks)}
	t.Run("handled", func(t *testing.T) {
		c := newCoordinator(t)
		ctx := testCtx(t)
		var handled atomic.Int64
		for i := range workers {
			_, err := c.Spawn(ctx, processgroup.Spec[msg]{Name: workerName(i),
				Handler: func(_ context.Context, m managedprocess.Message[msg]) {
					if i == 0 && m.Body.Round%30 == 0 {
						time.Sleep(2 * time.Millisecond) // the slow one
					}
					handled.Add(1)
				}})
			require.NoError(t, err)
		}
		seen := make(chan int64, 1)
		_, err := c.Spawn(ctx, processgroup.Spec[msg]{Name: "collector",
			Handler: func(context.Context, managedprocess.Message[msg]) { seen <- handled.Load() }})
		require.NoError(t, err)
		spawn(t, c, "d", "dispatcher", env...)
		assert.EqualValues(t, tasks, within(t, seen), "tasks handled when the dispatcher's outbound fence returned")
		require.NoError(t, c.Wait(ctx))
	})
	t.Run("lagging", func(t *testing.T) {
		c := newCoordinator(t)
		ctx := testCtx(t)
		for i := range workers {
			handler := func(context.Context, managedprocess.Message[msg]) {}
			if i == 0 {
				handler = func(hctx context.Context, _ managedprocess.Message[msg]) { <-hctx.Done() } // stuck
			}
			_, err := c.Spawn(ctx, processgroup.Spec[msg]{Name: workerName(i), Handler: handler})
			require.NoError(t, err)
		}
		spawn(t, c, "d", "dispatcher", append(env, envPatience+"=200")...)
		err := c.Wait(ctx)
		require.ErrorIs(t, err, fence.ErrExited)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		var fe *fence.Error
		require.ErrorAs(t, err, &fe)
		assert.Equal(t, "outbound fence", fe.Op)
		assert.Equal(t, "d", fe.Member.Name)
		var lags []string
		for _, l := range fe.Lagging {
			lags = append(lags, fmt.Sprintf("%s→%s", l.Sender.Name, l.Recipient.Name))
			assert.Less(t, l.Delivered, l.Seq, "%v", l)
		}
		assert.Contains(t, lags, "d→w0", "the stuck worker's stream lags: %v", err)
	})
}

// TestProcessPublish: what a child publishes to its group reaches every
// other member, children and goroutines, once each and in order, and all
// of it is handled by the delivery fence that follows.
func TestProcessPublish(t *testing.T) {
	const n = 500
	c := newCoordinator(t)
	ctx := testCtx(t)
	var handled atomic.Int64
	p, err := c.Spawn(ctx, processgroup.Spec[msg]{Name: "p", Groups: []string{"g"},
		Handler: func(context.Context, managedprocess.Message[msg]) { handled.Add(1) }})
	require.NoError(t, err)
	count := envCount + "=" + strconv.Itoa(n)
	spawn(t, c, "e1", "publishee", count)
	spawn(t, c, "e2", "publishee", count)
	spawn(t, c, "pub", "publisher", count) // once the others are members
	_, err = p.Barrier(ctx, "g", "b", fence.DeliveryFence)
	require.NoError(t, err)
	assert.EqualValues(t, n, handled.Load(), "published messages handled by p at the release")
	require.NoError(t, c.Wait(ctx), "the children check what they got")
}

// TestProcessJoinWhileDraining: a child that becomes a member of a group
// while a round of it drains — spawned into the group, or joining it — is
// not expected in that round but in the next, which it meets the others
// at.
func TestProcessJoinWhileDraining(t *testing.T) {
	for _, how := range []string{"spawn", "join"} {
		t.Run(how, func(t *testing.T) {
			c := newCoordinator(t)
			ctx := testCtx(t)
			got := collector(t, c)
			open := make(chan struct{})
			b, err := c.Spawn(ctx, processgroup.Spec[msg]{Name: "B", Groups: []string{"g"},
				Handler: func(hctx context.Context, _ managedprocess.Message[msg]) {
					select {
					case <-open:
					case <-hctx.Done():
					}
				}})
			require.NoError(t, err)
			a := member(t, c, "A")
			require.NoError(t, a.Send(ctx, "B", msg{}))
			first := []<-chan outcome{barrierAt(ctx, a, "x"), barrierAt(ctx, b, "x")}
			eventually(t, "round 1 draining", func() bool { return phase(c, "x", 1) == "draining" })

			spec := processgroup.ProcessSpec{Name: "L", Role: "joiner", Env: []string{quickExit}, Stderr: testWriter{t}}
			if how == "join" {
				spec.Env = append(spec.Env, envMode+"=join")
			} else {
				spec.Groups = []string{"g"}
			}
			_, err = c.SpawnProcess(ctx, spec)
			require.NoError(t, err)
			eventually(t, "L arrived at round 2", func() bool { return phase(c, "x", 2) == "arriving" })
			close(open)
			for _, out := range first {
				o := within(t, out)
				require.NoError(t, o.err)
				assert.EqualValues(t, 1, o.res.Round, "the joiner was not waited for in round 1")
			}
			second := []<-chan outcome{barrierAt(ctx, a, "x"), barrierAt(ctx, b, "x")}
			for _, out := range second {
				o := within(t, out)
				require.NoError(t, o.err)
				assert.EqualValues(t, 2, o.res.Round)
			}
			assert.Equal(t, 2, within(t, got).Round, "the round L met the others at")
			require.NoError(t, c.Wait(ctx))
		})
	}
}

// outcome is what a Barrier call returned.
type outcome struct {
	res fence.Result
	err error
}

// barrierAt starts m's Barrier call at barrier name of "g" as a delivery
// fence in a goroutine and returns its outcome.
func barrierAt(ctx context.Context, m managedprocess.Member[msg], name string) <-chan outcome {
	out := make(chan outcome, 1)
	go func() {
		res, err := m.Barrier(ctx, "g", name, fence.DeliveryFence)
		out <- outcome{res, err}
	}()
	return out
}

// phase returns the phase of round r of barrier name of "g" while it is
// open, "" otherwise.
func phase(c *processgroup.Coordinator[msg], name string, r uint64) string {
	for _, g := range c.Snapshot().Groups {
		for _, rs := range g.Rounds {
			if g.Name == "g" && rs.Barrier == name && rs.Round == r {
				return rs.Phase
			}
		}
	}
	return ""
}

// TestProcessRetriedBarrierAttachesToItsArrival: a child whose Barrier
// timed out still stands arrived; its next Barrier call for that name
// attaches to the same round instead of arriving at a later one, and
// returns that round's outcome once the others arrive.
func TestProcessRetriedBarrierAttachesToItsArrival(t *testing.T) {
	c := newCoordinator(t)
	ctx := testCtx(t)
	got := collector(t, c)
	p := member(t, c, "p")
	spawn(t, c, "r", "retrier")
	timedOut := within(t, got)
	assert.Equal(t, msg{Hop: 1, Round: 1}, timedOut, "the timeout named round 1")
	res, err := p.Barrier(ctx, "g", "b", fence.DeliveryFence)
	require.NoError(t, err)
	assert.EqualValues(t, 1, res.Round)
	assert.Equal(t, msg{Hop: 2, Round: 1}, within(t, got), "the retry returned round 1's outcome")
	require.NoError(t, c.Wait(ctx))
}

// TestProcessLocalFenceAndPostHandlerWork: a child's local fence returns
// once every message queued for it before the call was handled, its
// post-handler work included, and its own Snapshot agrees; an Arrive and
// a later Wait of a child cross as in process.
func TestProcessLocalFenceAndPostHandlerWork(t *testing.T) {
	const n = 300
	c := newCoordinator(t)
	ctx := testCtx(t)
	p := member(t, c, "p")
	spawn(t, c, "f", "localFencer", envCount+"="+strconv.Itoa(n))
	for i := range n {
		require.NoError(t, p.Send(ctx, "f", msg{Round: i}))
	}
	_, err := p.Barrier(ctx, "g", "sent", fence.Rendezvous)
	require.NoError(t, err)
	res, err := p.Barrier(ctx, "g", "b", fence.ProcessingFence)
	require.NoError(t, err)
	assert.EqualValues(t, 1, res.Round)
	require.NoError(t, c.Wait(ctx), "the child's checks")
}

// TestProcessNoStartGate: children spawned one after another, with the
// program arriving between or after the spawns, need no start gate: every
// child is expected in the first round, and at every release the program
// handled every message each child sent it before the barrier. (Arriving
// before the first spawn, the program would be the group's only member,
// and its arrival would release the round at once.)
func TestProcessNoStartGate(t *testing.T) {
	const children, rounds, perRound = 3, 20, 25
	for arriveAfter := 1; arriveAfter <= children; arriveAfter++ {
		t.Run(fmt.Sprintf("arrives-after-%d", arriveAfter), func(t *testing.T) {
			c := newCoordinator(t)
			ctx := testCtx(t)
			var handled [rounds + 1]atomic.Int64
			p, err := c.Spawn(ctx, processgroup.Spec[msg]{Name: "p", Groups: []string{"g"},
				Handler: func(_ context.Context, m managedprocess.Message[msg]) { handled[m.Body.Round].Add(1) }})
			require.NoError(t, err)
			var first managedprocess.Arrival
			for i := 0; i <= children; i++ {
				if i == arriveAfter {
					first, err = p.Arrive(ctx, "g", "b", fence.DeliveryFence)
					require.NoError(t, err)
				}
				if i < children {
					spawn(t, c, workerName(i), "reporter", envIndex+"="+strconv.Itoa(i),
						envRounds+"="+strconv.Itoa(rounds), envPerPeer+"="+strconv.Itoa(perRound))
				}
			}
			res, err := first.Wait(ctx)
			require.NoError(t, err)
			require.EqualValues(t, 1, res.Round)
			assert.EqualValues(t, children*perRound, handled[1].Load(), "round 1: every child was expected")
			for r := 2; r <= rounds; r++ {
				res, err := p.Barrier(ctx, "g", "b", fence.DeliveryFence)
				require.NoError(t, err)
				require.EqualValues(t, r, res.Round)
				assert.EqualValues(t, children*perRound, handled[r].Load(), "round %d", r)
			}
			require.NoError(t, c.Wait(ctx))
		})
	}
}

// TestProcessCloseWhileChildrenWait: Close while children wait at a
// barrier and in handlers fails their round with ErrClosed, which is no
// failure of theirs: Close returns nil once every child was reaped, and
// each exited with status 0, as a child that served its member to the end.
func TestProcessCloseWhileChildrenWait(t *testing.T) {
	c := processgroup.New[msg]()
	_, err := c.NewGroup("g")
	require.NoError(t, err)
	ctx := testCtx(t)
	p := member(t, c, "p") // never arrives: the round stays open
	var children []*processgroup.Process
	for i := range 3 {
		children = append(children, spawn(t, c, workerName(i), "arriver"))
	}
	children = append(children, spawn(t, c, "s", "stuck"))
	require.NoError(t, p.Send(ctx, "s", msg{})) // its handler runs until the member departs
	for i := range 3 {
		arrived(t, c, workerName(i))
	}
	closeCtx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()
	require.NoError(t, c.Close(closeCtx), "children stopped by Close are not failures")
	for _, child := range children {
		select {
		case <-child.Done():
		default:
			t.Fatalf("Close returned before %v was reaped", child.ID())
		}
		assert.NoError(t, child.Err(), "%v exits with status 0", child.ID())
	}
}

// TestProcessSenderBlockedOnADyingRecipient: a child whose send waits for
// room in the window of another child that is then killed is not left
// waiting: the send fails with the recipient's departure (or, when it
// resolved the name again, as a send to an unknown member), naming it.
func TestProcessSenderBlockedOnADyingRecipient(t *testing.T) {
	c := newCoordinator(t)
	ctx := testCtx(t)
	consumer, err := c.SpawnProcess(ctx, processgroup.ProcessSpec{Name: "consumer", Role: "gated", Window: 4,
		Env: []string{quickExit}, Stderr: testWriter{t}})
	require.NoError(t, err)
	spawn(t, c, "producer", "producer", envCount+"=100")
	eventually(t, "the producer waits for room", func() bool {
		for _, ms := range c.Snapshot().Members {
			if ms.ID.Name == "consumer" && ms.Queued+boolInt(ms.Handling != nil) == 4 {
				return true
			}
		}
		return false
	})
	require.NoError(t, syscall.Kill(consumer.Pid(), syscall.SIGKILL))
	err = c.Wait(ctx)
	assert.NotNil(t, failureOf(err, "consumer"), "%v", err)
	me := failureOf(err, "producer")
	require.NotNil(t, me, "%v", err)
	assert.ErrorIs(t, me, fence.ErrExited)
	assert.Contains(t, me.Error(), "message 5: ", "the fifth send waited")
	assert.Contains(t, me.Error(), "consumer", "the send names its recipient")
	if !errors.Is(me, fence.ErrUnknownMember) { // the send found the link revoked and resolved the name again
		assert.ErrorIs(t, me, fence.ErrCrashed, "the send failed with the recipient's departure")
	}
}

// failureOf returns the failure of the member called name among those
// Wait joined into err, or nil.
func failureOf(err error, name string) *fence.MemberError {
	joined, _ := err.(interface{ Unwrap() []error })
	if joined == nil {
		return nil
	}
	for _, e := range joined.Unwrap() {
		var me *fence.MemberError
		if errors.As(e, &me) && me.Member.Name == name {
			return me
		}
	}
	return nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestProcessHandlersBlockedOnEachOthersWindowsAreVisible: two children
// whose handlers send to each other with contexts of their own (so not
// exempt from the window) into full windows of one wait for each other.
// The coordinator's Snapshot shows each one handling a message and waiting
// for room at the other, and the first send to end ends with its context,
// with an error that says what it waited for.
func TestProcessHandlersBlockedOnEachOthersWindowsAreVisible(t *testing.T) {
	c := newCoordinator(t)
	ctx := testCtx(t)
	got := collector(t, c)
	lines := make(chan string, 4)
	p := member(t, c, "p")
	for _, pair := range [][2]string{{"a", "b"}, {"b", "a"}} {
		_, err := c.SpawnProcess(ctx, processgroup.ProcessSpec{Name: pair[0], Groups: []string{"g"}, Role: "crossSender", Window: 1,
			Env: []string{envPeer + "=" + pair[1], envPatience + "=3000", quickExit}, Stdout: lineWriter(lines), Stderr: testWriter{t}})
		require.NoError(t, err)
	}
	_, err := p.Barrier(ctx, "g", "start", fence.Rendezvous) // both children exist
	require.NoError(t, err)
	eventually(t, "both handlers wait for room", func() bool {
		waiting := 0
		for _, ms := range c.Snapshot().Members {
			if len(ms.Waiting) == 1 && ms.Handling != nil {
				waiting++
			}
		}
		return waiting == 2
	})
	s := c.Snapshot()
	for _, ms := range s.Members {
		switch ms.ID.Name {
		case "a", "b":
			peer := map[string]string{"a": "b", "b": "a"}[ms.ID.Name]
			assert.Equal(t, peer, ms.Waiting[0].To.Name, "%v", ms.State)
			assert.Equal(t, peer, ms.Handling.From.Name, "%v", ms.State)
		}
	}
	// The first send to end frees the other's window when its handler
	// returns: the other may then go through.
	assert.Equal(t, 99, within(t, got).Hop)
	line := within(t, lines)
	assert.Contains(t, line, "window of 1 unhandled messages full for ")
	assert.Contains(t, line, "context deadline exceeded")
}

// TestProcessSpawnRacingClose: children spawned while Close runs either
// are refused with ErrClosed or are reaped by the time Close returns: no
// child outlives it.
func TestProcessSpawnRacingClose(t *testing.T) {
	for attempt := range 5 {
		c := processgroup.New[msg]()
		ctx := testCtx(t)
		spawned := make(chan *processgroup.Process, 8)
		started := make(chan struct{})
		go func() {
			defer close(spawned)
			close(started)
			for i := range 8 {
				p, err := c.SpawnProcess(ctx, processgroup.ProcessSpec{Name: workerName(i), Role: "sleeper", Env: []string{quickExit}})
				if err != nil {
					assert.ErrorIs(t, err, fence.ErrClosed, "attempt %d, spawn %d", attempt, i)
					return
				}
				spawned <- p
			}
		}()
		<-started
		time.Sleep(time.Duration(attempt) * 3 * time.Millisecond) // Close lands after a different number of spawns each time
		closeCtx, cancel := context.WithTimeout(ctx, bound)
		err := c.Close(closeCtx)
		cancel()
		require.NoError(t, err)
		for p := range spawned {
			select {
			case <-p.Done():
			default:
				t.Fatalf("attempt %d: %v outlived Close", attempt, p.ID())
			}
		}
	}
}

// TestProcessGoexitInAHandler: a child's handler that calls runtime.Goexit
// crashes the child with fence.ErrGoexit across the socket, and fails the
// round that expected it, naming it.
func TestProcessGoexitInAHandler(t *testing.T) {
	c := newCoordinator(t)
	ctx := testCtx(t)
	p := member(t, c, "p")
	spawn(t, c, "gx", "goexits")
	a, err := p.Arrive(ctx, "g", "b", fence.Rendezvous) // the round expects gx
	require.NoError(t, err)
	require.NoError(t, p.Send(ctx, "gx", msg{}))
	_, err = a.Wait(ctx)
	require.ErrorIs(t, err, fence.ErrGoexit)
	require.ErrorIs(t, err, fence.ErrCrashed)
	var fe *fence.Error
	require.ErrorAs(t, err, &fe)
	require.Len(t, fe.Departed, 1)
	assert.Equal(t, "gx", fe.Departed[0].Member.Name)
	assert.ErrorIs(t, c.Wait(ctx), fence.ErrGoexit)
}

// TestProcessSnapshotShowsAStuckChild: the coordinator's Snapshot of a child
// whose handler is stuck shows what it handled, the message it is stuck
// on, and what waits behind it — though the child took the message it is
// stuck on in one batch with one it handled. (Before the child reported
// such a batch's progress on a timer, the Snapshot showed it stuck on p's
// first message, with nothing handled, for as long as it was stuck.)
func TestProcessSnapshotShowsAStuckChild(t *testing.T) {
	c := newCoordinator(t)
	ctx := testCtx(t)
	entered := collector(t, c)
	spawn(t, c, "r", "stuckOnTwo")
	p := member(t, c, "p")
	for hop := range 4 { // 0 keeps r busy while 1, 2 and 3 queue; 2 gets it stuck
		require.NoError(t, p.Send(ctx, "r", msg{Hop: hop}))
	}
	assert.Equal(t, 0, within(t, entered).Hop)
	assert.Equal(t, 2, within(t, entered).Hop, "r is stuck in the handler of Hop 2")
	var st managedprocess.State
	eventually(t, "r's snapshot shows it stuck", func() bool {
		for _, ms := range c.Snapshot().Members {
			if ms.ID.Name == "r" {
				st = ms.State
			}
		}
		return st.Handled == 2
	})
	require.NotNil(t, st.Handling, "%v", st)
	assert.Equal(t, "p", st.Handling.From.Name)
	assert.EqualValues(t, 3, st.Handling.Seq, "Hop 2 is p's third message")
	assert.Equal(t, 1, st.Queued, "Hop 3 waits behind it")
	assert.Contains(t, c.Snapshot().String(), "handling=[p", "the printed snapshot shows it too")
}

// TestProcessCloseDropsQueuedBatch: what is queued for a child behind a
// handler that holds on across Close is consumed, not handled, once that
// handler returns, and Close returns with the child reaped.
func TestProcessCloseDropsQueuedBatch(t *testing.T) {
	c := processgroup.New[msg]()
	ctx := testCtx(t)
	lines := make(chan string, 16)
	_, err := c.SpawnProcess(ctx, processgroup.ProcessSpec{Name: "r", Role: "holdsAtOne", Env: []string{quickExit},
		Stdout: lineWriter(lines), Stderr: testWriter{t}})
	require.NoError(t, err)
	p, err := c.Spawn(ctx, processgroup.Spec[msg]{Name: "p"})
	require.NoError(t, err)
	for hop := range 6 {
		require.NoError(t, p.Send(ctx, "r", msg{Hop: hop}))
	}
	assert.Equal(t, "handled 0", within(t, lines))
	assert.Equal(t, "holding", within(t, lines)) // 2–5 are queued behind it
	closeCtx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()
	err = c.Close(closeCtx)
	require.NoError(t, closeCtx.Err(), "Close did not return: %v", err)
	assert.NoError(t, err)
	var rest []string
	for len(lines) > 0 { // Close returned: the child's output was forwarded
		rest = append(rest, <-lines)
	}
	assert.Equal(t, []string{"handled 1"}, rest, "only the message being handled at Close was handled")
}

// lineWriter passes each line a child writes on.
type lineWriter chan string

func (w lineWriter) Write(b []byte) (int, error) {
	w <- strings.TrimSpace(string(b))
	return len(b), nil
}
