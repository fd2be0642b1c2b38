package member_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/internal/member"
	"github.com/muster-go/muster/managedprocess"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSendIsOrderedPerSenderWithStreamSequences(t *testing.T) {
	w := newWorld[int](t)
	var mu sync.Mutex
	var got []managedprocess.Message[int]
	done := make(chan struct{})
	w.add("r", 0, func(_ context.Context, msg managedprocess.Message[int]) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, msg)
		if len(got) == 200 {
			close(done)
		}
	})
	a, b := w.add("a", 0, nil), w.add("b", 0, nil)
	other := w.add("other", 0, nil)
	var wg sync.WaitGroup
	for _, s := range []*member.Member[int]{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 100 {
				require.NoError(t, s.Send(context.Background(), "r", i))
				if i%10 == 0 { // gaps in r's view of the stream
					require.NoError(t, s.SendTo(context.Background(), other.ID(), -1))
				}
			}
		}()
	}
	wg.Wait()
	within(t, done)
	mu.Lock()
	defer mu.Unlock()
	next := map[string]int{}
	last := map[string]uint64{}
	for _, msg := range got {
		assert.Equal(t, next[msg.From.Name], msg.Body, "order from %s", msg.From)
		assert.Greater(t, msg.Seq, last[msg.From.Name], "sequence grows")
		next[msg.From.Name]++
		last[msg.From.Name] = msg.Seq
	}
	assert.Equal(t, uint64(110), a.Snapshot().Leading, "one sequence per message across recipients")
}

func TestPublishUsesOneSequenceForEveryRecipientButTheSender(t *testing.T) {
	w := newWorld[string](t)
	seqs := make(chan uint64, 4)
	h := func(_ context.Context, msg managedprocess.Message[string]) { seqs <- msg.Seq }
	w.add("x", 0, h)
	w.add("y", 0, h)
	s := w.add("s", 0, h)
	require.NoError(t, s.Send(context.Background(), "x", "first"))
	require.NoError(t, s.Publish(context.Background(), "all", "hello"))
	got := []uint64{<-seqs, <-seqs, <-seqs}
	assert.ElementsMatch(t, []uint64{1, 2, 2}, got)
	select {
	case seq := <-seqs:
		t.Fatalf("sender received its own publish (seq %d)", seq)
	default:
	}
	err := s.Publish(context.Background(), "nope", "x")
	assert.ErrorIs(t, err, fence.ErrUnknownGroup)
}

func TestSendToUnknownMember(t *testing.T) {
	w := newWorld[int](t)
	s := w.add("s", 0, nil)
	assert.ErrorIs(t, s.Send(context.Background(), "ghost", 1), fence.ErrUnknownMember)
	assert.ErrorIs(t, s.TrySend("ghost", 1), fence.ErrUnknownMember)
}

func TestFullInboxPushesBackOnItsSender(t *testing.T) {
	w := newWorld[int](t)
	g := make(gate)
	handled := make(chan int, 8)
	w.add("r", 2, func(_ context.Context, msg managedprocess.Message[int]) {
		<-g
		handled <- msg.Body
	})
	s := w.add("s", 0, nil)
	ctx := context.Background()
	require.NoError(t, s.Send(ctx, "r", 1)) // taken by the reader, blocked in the handler
	require.NoError(t, s.Send(ctx, "r", 2)) // s's window at r (2) is now full
	assert.ErrorIs(t, s.TrySend("r", 3), fence.ErrWouldBlock)

	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	err := s.Send(short, "r", 3)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), "window of 2 unhandled messages full")
	assert.Equal(t, uint64(2), s.Snapshot().Leading, "a refused send takes no sequence")

	sent := make(chan error, 1)
	go func() { sent <- s.Send(ctx, "r", 3) }()
	require.Eventually(t, func() bool { return len(s.Snapshot().Waiting) == 1 }, 5*time.Second, time.Millisecond,
		"the blocked send shows in the sender's Snapshot")
	select {
	case err := <-sent:
		t.Fatalf("send into a full window returned %v before room was made", err)
	default:
	}
	g.open()
	within(t, sent)
	for want := 1; want <= 3; want++ {
		select {
		case got := <-handled:
			assert.Equal(t, want, got)
		case <-time.After(5 * time.Second):
			t.Fatalf("message %d never handled", want)
		}
	}
}

func TestHandlersSendingIntoEachOthersFullInboxesDoNotDeadlock(t *testing.T) {
	w := newWorld[int](t)
	const burst = 3
	// Both handlers first meet (so both readers are busy), then each sends a
	// burst into the other's inbox, whose bound is 1. Without the handler
	// exemption each would wait for the other's reader: a deadlock.
	inHandler := map[string]chan struct{}{"a": make(chan struct{}), "b": make(chan struct{})}
	received := map[string]chan struct{}{"a": make(chan struct{}), "b": make(chan struct{})}
	handler := func(self, peer string) managedprocess.Handler[int] {
		count := 0
		return func(ctx context.Context, msg managedprocess.Message[int]) {
			if msg.Body == 1 {
				if count++; count == burst {
					close(received[self])
				}
				return
			}
			close(inHandler[self])
			<-inHandler[peer]
			me, _ := w.dir.Lookup(self)
			for range burst {
				if err := me.Send(ctx, peer, 1); err != nil {
					t.Errorf("handler send: %v", err)
				}
			}
		}
	}
	w.add("a", 1, handler("a", "b"))
	w.add("b", 1, handler("b", "a"))
	starter := w.add("s", 0, nil)
	require.NoError(t, starter.Send(context.Background(), "a", 0))
	require.NoError(t, starter.Send(context.Background(), "b", 0))
	within(t, received["a"])
	within(t, received["b"])
}

func waitGroup(t *testing.T, wg *sync.WaitGroup) {
	t.Helper()
	ch := make(chan struct{})
	go func() { wg.Wait(); close(ch) }()
	within(t, ch)
}

func TestSendToStoppedMemberReportsItsCause(t *testing.T) {
	w := newWorld[int](t)
	r := w.add("r", 0, nil)
	s := w.add("s", 0, nil)
	cause := errors.Join(fence.ErrExited)
	r.Stop(cause, false)
	within(t, r.Done())
	err := s.Send(context.Background(), "r", 1)
	assert.ErrorIs(t, err, fence.ErrExited)
	assert.Equal(t, uint64(0), s.Snapshot().Leading, "a refused send takes no sequence")
}

// TestSendAndSendToRefuseAlike: Send and SendTo take most messages in one
// pass and fall back to the general path otherwise; each case that falls
// back must fail (or wait) the same way through both, taking no sequence.
func TestSendAndSendToRefuseAlike(t *testing.T) {
	sends := map[string]func(s, r *member.Member[int], ctx context.Context) error{
		"Send":   func(s, r *member.Member[int], ctx context.Context) error { return s.Send(ctx, "r", 1) },
		"SendTo": func(s, r *member.Member[int], ctx context.Context) error { return s.SendTo(ctx, r.ID(), 1) },
	}
	for name, send := range sends {
		t.Run(name, func(t *testing.T) {
			t.Run("nil context", func(t *testing.T) {
				w := newWorld[int](t)
				r, s := w.add("r", 0, nil), w.add("s", 0, nil)
				assert.ErrorIs(t, send(s, r, nil), fence.ErrInvalidArgument) // a nil context is the case under test
				assert.Equal(t, uint64(0), s.Snapshot().Leading)
			})
			t.Run("recipient stopped", func(t *testing.T) {
				w := newWorld[int](t)
				r, s := w.add("r", 0, nil), w.add("s", 0, nil)
				r.Stop(errors.Join(fence.ErrExited), false)
				within(t, r.Done())
				assert.ErrorIs(t, send(s, r, context.Background()), fence.ErrExited)
				assert.Equal(t, uint64(0), s.Snapshot().Leading)
			})
			t.Run("sender stopped", func(t *testing.T) {
				w := newWorld[int](t)
				r, s := w.add("r", 0, nil), w.add("s", 0, nil)
				require.NoError(t, send(s, r, context.Background()))
				s.Stop(errors.Join(fence.ErrCrashed), false)
				err := send(s, r, context.Background())
				require.ErrorIs(t, err, fence.ErrCrashed)
				assert.Contains(t, err.Error(), "sender departed")
				assert.Equal(t, uint64(1), s.Snapshot().Leading)
			})
			t.Run("window full", func(t *testing.T) {
				w := newWorld[int](t)
				g := make(gate)
				defer g.open() // before the world closes, even if the test fails
				r := w.add("r", 2, func(context.Context, managedprocess.Message[int]) { <-g })
				s := w.add("s", 0, nil)
				ctx := context.Background()
				require.NoError(t, send(s, r, ctx))
				require.NoError(t, send(s, r, ctx)) // two unhandled: the window of 2 is full
				short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
				defer cancel()
				err := send(s, r, short)
				require.ErrorIs(t, err, context.DeadlineExceeded)
				assert.Contains(t, err.Error(), "window of 2 unhandled messages full")
				assert.Equal(t, uint64(2), s.Snapshot().Leading)
			})
		})
	}
}
