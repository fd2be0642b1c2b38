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
