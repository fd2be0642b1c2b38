package wire_test

import (
	"context"
	"testing"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/internal/wire"
	"github.com/muster-go/muster/managedprocess"
)

// BenchmarkRemoteSend: a member side's send of a 64-byte []byte with the
// Bytes codec, within credit, into a pipe whose other side only counts the
// messages: ns/op is what a child's body pays per message before the
// connection's writer takes over.
func BenchmarkRemoteSend(b *testing.B) {
	to := fence.Identity{Name: "r", ID: 2}
	var r *wire.Remote[[]byte]
	counted := make(chan struct{}, 1)
	n := 0
	pipe := wire.NewPipe(func(f *wire.Frame) {
		switch f.Op {
		case wire.OpResolve, wire.OpCredit:
			r.Receive(&wire.Frame{Op: wire.OpReply, Call: f.Call, To: &to, Count: 1 << 62})
		case wire.OpPost:
			if n += int(f.Count); n == b.N {
				counted <- struct{}{}
			}
		}
	})
	r = wire.NewRemote(fence.Identity{Name: "s", ID: 1}, pipe, managedprocess.Bytes(), nil, nil, 0)
	defer func() { pipe.Close(); r.Lose(fence.ErrClosed); r.Wait() }()
	ctx := context.Background()
	msg := make([]byte, 64)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := r.Send(ctx, "r", msg); err != nil {
			b.Fatal(err)
		}
	}
	<-counted
}

// BenchmarkRemoteReceive: a member side's handling of deliveries of 64-byte
// []byte messages with the Bytes codec, taken in runs of 100 as a
// connection's reader takes them, by a handler that does nothing: ns/op is
// what a child pays per message it is delivered.
func BenchmarkRemoteReceive(b *testing.B) {
	handled := make(chan struct{})
	n := 0
	r := wire.NewRemote(fence.Identity{Name: "r", ID: 2}, discard{}, managedprocess.Bytes(),
		func(context.Context, managedprocess.Message[[]byte]) {
			if n++; n == b.N {
				close(handled)
			}
		}, nil, 0)
	defer func() { r.Lose(fence.ErrClosed); r.Wait() }()
	const perRun = 100
	var run []byte
	for range perRun {
		run = wire.AppendMessage(run, make([]byte, 64))
	}
	from := fence.Identity{Name: "s", ID: 1}
	b.ReportAllocs()
	b.ResetTimer()
	for seq := uint64(1); seq <= uint64(b.N); seq += perRun {
		count := min(perRun, uint64(b.N)+1-seq)
		f := &wire.Frame{Op: wire.OpDeliver, From: from, Seq: seq, Count: count, Body: run}
		if count < perRun {
			f.Body = nil
			for range count {
				f.Body = wire.AppendMessage(f.Body, make([]byte, 64))
			}
		}
		r.Take(f)
		r.Flush()
	}
	<-handled
}
