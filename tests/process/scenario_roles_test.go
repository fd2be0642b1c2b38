package process

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/managedprocess"
	"github.com/muster-go/muster/processgroup"
)

// envPatience, when set, is how many milliseconds a dispatcher waits at its
// outbound fence.
const envPatience = "TEST_PATIENCE_MS"

// scenarioRoles are the children of scenario_test.go.
func scenarioRoles() map[string]processgroup.Role[msg] {
	return map[string]processgroup.Role[msg]{
		"dispatcher":  {Run: dispatch},
		"publisher":   {Run: publish},
		"joiner":      {Run: joinAndMeet},
		"retrier":     {Run: retryBarrier},
		"goexits":     {Handler: func(context.Context, managedprocess.Message[msg]) { runtime.Goexit() }},
		"holdsAtOne":  holdsAtOne(),
		"publishee":   publishee(),
		"localFencer": localFencer(),
		"reporter":    {Run: report},
		"crossSender": crossSender(),
	}
}

// dispatch sends TEST_COUNT tasks round-robin to the TEST_WORKERS workers
// w0, w1, …, waits at its outbound fence (for at most TEST_PATIENCE_MS, if
// set) and then tells member "collector" how many it sent. A fence that
// ends with an error is its run's error.
func dispatch(ctx context.Context, m managedprocess.Member[msg]) error {
	n, workers := envInt(envCount), envInt(envWorkers)
	for i := range n {
		if err := m.Send(ctx, workerName(i%workers), msg{Round: i}); err != nil {
			return err
		}
	}
	fenceCtx := ctx
	if ms := envInt(envPatience); ms > 0 {
		var cancel context.CancelFunc
		fenceCtx, cancel = context.WithTimeout(ctx, time.Duration(ms)*time.Millisecond)
		defer cancel()
	}
	if err := m.WaitForOutboundFence(fenceCtx); err != nil {
		return err
	}
	return m.Send(ctx, "collector", msg{Count: uint64(n)})
}

// publish publishes TEST_COUNT messages to group "g", then meets the others
// at barrier "b" as a delivery fence.
func publish(ctx context.Context, m managedprocess.Member[msg]) error {
	for i := 1; i <= envInt(envCount); i++ {
		if err := m.Publish(ctx, "g", msg{Round: i}); err != nil {
			return err
		}
	}
	_, err := m.Barrier(ctx, "g", "b", fence.DeliveryFence)
	return err
}

// joinAndMeet joins group "g" when TEST_MODE is "join" (otherwise it was
// spawned into it), meets the others at barrier "x" as a delivery fence,
// and tells member "collector" the round it met them at.
func joinAndMeet(ctx context.Context, m managedprocess.Member[msg]) error {
	if os.Getenv(envMode) == "join" {
		if err := m.Join("g"); err != nil {
			return err
		}
	}
	res, err := m.Barrier(ctx, "g", "x", fence.DeliveryFence)
	if err != nil {
		return err
	}
	return m.Send(ctx, "collector", msg{Round: int(res.Round)})
}

// retryBarrier calls Barrier "b" of group "g" with a context that ends
// after 50 ms, tells member "collector" the round its timeout named (Hop 1),
// then calls it again without a deadline and reports the round it returned
// (Hop 2).
func retryBarrier(ctx context.Context, m managedprocess.Member[msg]) error {
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	_, err := m.Barrier(short, "g", "b", fence.DeliveryFence)
	var fe *fence.Error
	if !errors.As(err, &fe) || !fe.Timeout() {
		return fmt.Errorf("the first call returned %v, want a timeout", err)
	}
	if err := m.Send(ctx, "collector", msg{Hop: 1, Round: int(fe.Round)}); err != nil {
		return err
	}
	res, err := m.Barrier(ctx, "g", "b", fence.DeliveryFence)
	if err != nil {
		return err
	}
	return m.Send(ctx, "collector", msg{Hop: 2, Round: int(res.Round)})
}

// holdsAtOne prints "handled N" for each message it handles, after its
// handler: the one of Hop 1 prints "holding" and then waits for its context
// to end (the member departed), so that what is queued behind it is queued
// when the member departs.
func holdsAtOne() processgroup.Role[msg] {
	return processgroup.Role[msg]{Handler: func(ctx context.Context, m managedprocess.Message[msg]) {
		if m.Body.Hop == 1 {
			fmt.Println("holding")
			<-ctx.Done()
		}
		fmt.Println("handled", m.Body.Hop)
	}}
}

// publishee is a member of group "g" that checks that it gets the
// publisher's TEST_COUNT messages once each and in order, and all of them
// by the release of barrier "b" (a delivery fence).
func publishee() processgroup.Role[msg] {
	var handled atomic.Int64
	return processgroup.Role[msg]{
		Handler: func(_ context.Context, m managedprocess.Message[msg]) {
			if n := handled.Add(1); m.Body.Round != int(n) {
				panic(fmt.Sprintf("message %d, want %d", m.Body.Round, n))
			}
		},
		Run: func(ctx context.Context, m managedprocess.Member[msg]) error {
			if _, err := m.Barrier(ctx, "g", "b", fence.DeliveryFence); err != nil {
				return err
			}
			if got, want := handled.Load(), int64(envInt(envCount)); got != want {
				return fmt.Errorf("handled %d published messages by the release, want %d", got, want)
			}
			return nil
		},
	}
}

// localFencer counts what it handles in post-handler work. Once barrier
// "sent" of group "g" (a rendezvous) says the program sent its TEST_COUNT
// messages, its local fence must find every one of them counted, and so
// must its own Snapshot; then it meets the program at barrier "b" as a
// processing fence, with an Arrive and a Wait.
func localFencer() processgroup.Role[msg] {
	var counted atomic.Int64
	return processgroup.Role[msg]{
		Handler: func(ctx context.Context, m managedprocess.Message[msg]) {
			if err := m.Recipient().RunAfterCurrentHandler(ctx, func() { counted.Add(1) }); err != nil {
				panic(err)
			}
		},
		Run: func(ctx context.Context, m managedprocess.Member[msg]) error {
			if _, err := m.Barrier(ctx, "g", "sent", fence.Rendezvous); err != nil {
				return err
			}
			if err := m.WaitForDeliveryFence(ctx); err != nil {
				return err
			}
			want := int64(envInt(envCount))
			if got := counted.Load(); got != want {
				return fmt.Errorf("post-handler work ran for %d messages by the local fence, want %d", got, want)
			}
			if st := m.Snapshot(); st.Handled != uint64(want) {
				return fmt.Errorf("its snapshot shows %d handled, want %d: %v", st.Handled, want, st)
			}
			a, err := m.Arrive(ctx, "g", "b", fence.ProcessingFence)
			if err != nil {
				return err
			}
			_, err = a.Wait(ctx)
			return err
		},
	}
}

// report sends TEST_PER_PEER messages of the round to member "p" each of
// TEST_ROUNDS rounds, then meets the others at barrier "b" of group "g" as
// a delivery fence: no start gate.
func report(ctx context.Context, m managedprocess.Member[msg]) error {
	me := envInt(envIndex)
	for r := 1; r <= envInt(envRounds); r++ {
		for range envInt(envPerPeer) {
			if err := m.Send(ctx, "p", msg{From: me, Round: r}); err != nil {
				return err
			}
		}
		if _, err := m.Barrier(ctx, "g", "b", fence.DeliveryFence); err != nil {
			return err
		}
	}
	return nil
}

// envPeer names the member a crossSender sends to.
const envPeer = "TEST_PEER"

// crossSender meets the others at barrier "start" of group "g" (a
// rendezvous: its peer exists then), sends one message to TEST_PEER and runs
// on. Its handler answers a message of Hop 0, once that send was made, with
// one of Hop 1 to TEST_PEER, sent with a context of its own (not the
// handler's: not exempt from the window) that ends after TEST_PATIENCE_MS,
// and tells member "collector" the error that send returned (Hop 99, its
// text on standard output).
func crossSender() processgroup.Role[msg] {
	peer := os.Getenv(envPeer)
	sent := make(chan struct{}) // the body's message is in the peer's window
	return processgroup.Role[msg]{
		Handler: func(hctx context.Context, m managedprocess.Message[msg]) {
			if m.Body.Hop != 0 {
				return
			}
			select {
			case <-sent:
			case <-hctx.Done():
				return
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Duration(envInt(envPatience))*time.Millisecond)
			defer cancel()
			if err := m.Recipient().Send(ctx, peer, msg{Hop: 1}); err != nil {
				fmt.Println("send:", err)
				if err := m.Recipient().Send(hctx, "collector", msg{Hop: 99}); err != nil {
					panic(err)
				}
			}
		},
		Run: func(ctx context.Context, m managedprocess.Member[msg]) error {
			if _, err := m.Barrier(ctx, "g", "start", fence.Rendezvous); err != nil {
				return err
			}
			if err := m.Send(ctx, peer, msg{}); err != nil {
				return err
			}
			close(sent)
			return untilDone(ctx, m)
		},
	}
}
