package wire_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/internal/wire"
)

// sent is one message as a post or delivery carried it.
type sent struct {
	op      wire.Op
	id      fence.Identity // a post's recipient, a delivery's sender
	handler bool
	seq     uint64
	body    string
}

// runRecorder records the messages of the posts and deliveries it
// receives, and how many frames carried them. Its first frame blocks until
// release is closed, so that what is sent meanwhile queues up.
type runRecorder struct {
	mu      sync.Mutex
	got     []sent
	frames  int
	first   sync.Once
	release chan struct{}
	t       *testing.T
}

func (r *runRecorder) receive(f *wire.Frame) {
	r.first.Do(func() { <-r.release })
	r.mu.Lock()
	defer r.mu.Unlock()
	r.frames++
	n := uint64(0)
	for run := f.Body; len(run) > 0; n++ {
		var body []byte
		body, run = wire.NextMessage(run)
		s := sent{op: f.Op, body: string(body)}
		switch f.Op {
		case wire.OpPost:
			s.id, s.handler = *f.To, f.Handler
		case wire.OpDeliver:
			s.id, s.seq = f.From, f.Seq+n
		}
		r.got = append(r.got, s)
	}
	if n != f.Count {
		r.t.Errorf("a frame of %d messages says %d", n, f.Count)
	}
}

// TestRunsCarryQueuedMessagesInOrder: posts and deliveries (some of them
// relayed in runs of three) queued while the other side is busy travel in
// runs, fewer frames than messages, and arrive
// in order with their payloads; a run never mixes recipients, handler
// flags or senders, nor a delivery that does not follow the one before it,
// and its frame stays within the connection's limit.
func TestRunsCarryQueuedMessagesInOrder(t *testing.T) {
	a, b := fence.Identity{ID: 1, Name: "a"}, fence.Identity{ID: 2, Name: "b"}
	var want []sent
	seq := uint64(0)
	for i := range 2000 {
		s := sent{op: wire.OpPost, id: a, body: fmt.Sprintf("m%d-%s", i, strings.Repeat("x", i%50))}
		switch {
		case i%97 == 0:
			s.id = b
		case i%89 == 0:
			s.handler = true
		case i/40%3 == 2: // a stretch of deliveries
			s.op, s.id = wire.OpDeliver, b
			seq++
			if i%83 == 0 {
				seq += 5 // a gap: another recipient's messages took those
			}
			s.seq = seq
		}
		want = append(want, s)
	}
	const limit = 300
	for _, socket := range []bool{false, true} {
		t.Run(fmt.Sprintf("socket=%v", socket), func(t *testing.T) {
			rec := &runRecorder{release: make(chan struct{}), t: t}
			var out wire.Sender
			if socket {
				ab, ba, err := wire.NewSocketPipes(rec.receive, func(*wire.Frame) {}, limit, func(err error) { t.Errorf("bad frame: %v", err) })
				require.NoError(t, err)
				defer ba.Close()
				out = ab
			} else {
				out = wire.NewPipe(rec.receive)
			}
			for i := 0; i < len(want); i++ {
				switch s := want[i]; {
				case s.op == wire.OpPost:
					out.Post(s.id, s.handler, []byte(s.body))
				case i%5 == 0 && relayable(want[i:]): // three deliveries relayed as one run
					var run []byte
					for _, r := range want[i : i+3] {
						run = wire.AppendMessage(run, []byte(r.body))
					}
					out.Relay(s.id, s.seq, 3, run)
					i += 2
				default:
					out.Deliver(s.id, s.seq, []byte(s.body))
				}
				if i == 0 {
					close(rec.release) // later ones queue behind the blocked first frame
				}
			}
			out.Close()
			require.Equal(t, len(want), len(rec.got))
			for i := range want {
				require.Equal(t, want[i], rec.got[i], "message %d", i)
			}
			assert.Less(t, rec.frames, len(want)/4, "frames for %d messages", len(want))
		})
	}
}

// relayable reports whether the first three of ss are deliveries one run
// may carry.
func relayable(ss []sent) bool {
	if len(ss) < 3 {
		return false
	}
	for i := 1; i < 3; i++ {
		if ss[i].op != wire.OpDeliver || ss[i].id != ss[0].id || ss[i].seq != ss[0].seq+uint64(i) {
			return false
		}
	}
	return ss[0].op == wire.OpDeliver
}

// TestRunsAreChecked: a post or delivery whose run is not exactly the
// messages its count says is refused as a bad frame.
func TestRunsAreChecked(t *testing.T) {
	one := wire.AppendMessage(nil, []byte("ab"))
	to := &fence.Identity{ID: 1, Name: "a"}
	for name, f := range map[string]*wire.Frame{
		"no messages":      {Op: wire.OpPost, To: to},
		"fewer than count": {Op: wire.OpPost, To: to, Count: 2, Body: one},
		"more than count":  {Op: wire.OpDeliver, Seq: 1, Count: 1, Body: append(append([]byte{}, one...), one...)},
		"cut short":        {Op: wire.OpDeliver, Seq: 1, Count: 1, Body: one[:2]},
		"a length past it": {Op: wire.OpDeliver, Seq: 1, Count: 1, Body: []byte{0x80}},
	} {
		b, err := wire.AppendFramed(nil, f)
		require.NoError(t, err)
		_, err = wire.ReadFramed(strings.NewReader(string(b)), wire.DefaultFrameLimit)
		assert.ErrorIs(t, err, wire.ErrBadFrame, name)
	}
}
