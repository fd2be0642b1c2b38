package member_test

import (
	"context"
	"testing"

	"github.com/muster-go/muster/managedprocess"
)

// BenchmarkSendTo measures one sender feeding one receiver's handler with
// 64-byte values; compare with BenchmarkChannel in the same run.
func BenchmarkSendTo(b *testing.B) {
	w := newWorld[[64]byte](b)
	n := 0
	r := w.add("r", 0, func(context.Context, managedprocess.Message[[64]byte]) { n++ })
	s := w.add("s", 0, nil)
	var payload [64]byte
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := s.SendTo(ctx, r.ID(), payload); err != nil {
			b.Fatal(err)
		}
	}
	if err := r.WaitForDeliveryFence(ctx); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkChannel is the reference: a buffered channel of capacity 1024.
func BenchmarkChannel(b *testing.B) {
	ch := make(chan [64]byte, 1024)
	done := make(chan struct{})
	n := 0
	go func() {
		for range ch {
			n++
		}
		close(done)
	}()
	var payload [64]byte
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		ch <- payload
	}
	close(ch)
	<-done
}
