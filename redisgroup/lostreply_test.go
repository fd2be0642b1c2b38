package redisgroup_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/managedprocess"
	"github.com/muster-go/muster/processgroup"
	"github.com/muster-go/muster/redisgroup"
	"github.com/muster-go/muster/redisgroup/internal/redisserver"
)

// lossyProxy forwards connections to a Redis server. Once armed, it drops
// every nth reply it forwards, with the connection: the server ran the
// command, but the client never learns its outcome and (go-redis retries
// on a broken connection) sends it again on a new one. While cut, it drops
// every command it reads, with the connection, as a network partition
// would.
type lossyProxy struct {
	ln     net.Listener
	target string
	nth    int64
	armed  atomic.Bool
	cut    atomic.Bool
	seen   atomic.Int64
	drops  atomic.Int64
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
}

func startLossyProxy(t *testing.T, target string, nth int64) *lossyProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &lossyProxy{ln: ln, target: target, nth: nth, conns: map[net.Conn]struct{}{}}
	p.wg.Go(p.accept)
	t.Cleanup(p.close)
	return p
}

func (p *lossyProxy) addr() string { return p.ln.Addr().String() }

func (p *lossyProxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		if !p.track(c, s) {
			return
		}
		p.wg.Go(func() { p.commands(c, s); s.Close(); c.Close() })
		p.wg.Go(func() { p.replies(s, c) })
	}
}

// track registers a pair of connections, unless the proxy closed.
func (p *lossyProxy) track(cs ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		if p.closed {
			c.Close()
		} else {
			p.conns[c] = struct{}{}
		}
	}
	return !p.closed
}

// commands forwards what the client writes; while cut, it drops what it
// read and the connection.
func (p *lossyProxy) commands(c, s net.Conn) {
	buf := make([]byte, 64<<10)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if p.cut.Load() {
				return
			}
			if _, werr := s.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// replies forwards what the server writes, dropping every nth read (a
// reply, or several) once armed, and the connection with it.
func (p *lossyProxy) replies(s, c net.Conn) {
	defer s.Close()
	defer c.Close()
	buf := make([]byte, 64<<10)
	for {
		n, err := s.Read(buf)
		if n > 0 {
			if p.armed.Load() && p.seen.Add(1)%p.nth == 0 {
				p.drops.Add(1)
				return
			}
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *lossyProxy) close() {
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.ln.Close()
	p.wg.Wait()
}

// Replies lost after Redis ran the command, so that go-redis sends it again
// (sends, publishes, arrivals, progress reports, heartbeats, blocking reads
// alike): no message is appended twice or lost, and no arrival counts twice
// or at the wrong round. Three senders stream numbered messages and
// publishes to a consumer on another coordinator and meet it at a delivery
// fence every round; after each, the consumer must hold exactly what was
// sent before it, in order, and everyone must be at the same round. An
// arrival that fails anyway (every retry lost) is retried by the member, as
// a user would.
func TestLostRepliesDuplicateNothing(t *testing.T) {
	const (
		senders = 3
		rounds  = 60
		k       = 20 // sends per sender per round, then one publish
	)
	srv := redisserver.Start(t)
	proxy := startLossyProxy(t, srv.Addr, 23)
	client := func() *redis.Client {
		c := redis.NewClient(&redis.Options{Addr: proxy.addr(), PoolSize: 16, MaxRetries: 5})
		t.Cleanup(func() { c.Close() })
		return c
	}
	coordinator := func() *redisgroup.Coordinator[int] {
		c, err := redisgroup.New(context.Background(), redisgroup.Config[int]{Client: client(),
			Prefix: t.Name(), Group: "g", Heartbeat: 5 * time.Second}) // a lapse is not what this tests: heartbeats lose replies too
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close(context.Background()) })
		return c
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c1, c2 := coordinator(), coordinator()

	var mu sync.Mutex
	got := map[string][]int{} // sender → bodies, in arrival order
	consumer, err := c2.Spawn(ctx, processgroup.Spec[int]{Name: "consumer", Groups: []string{"g"},
		Handler: func(_ context.Context, m managedprocess.Message[int]) {
			mu.Lock()
			got[m.From.Name] = append(got[m.From.Name], m.Body)
			mu.Unlock()
		}})
	require.NoError(t, err)
	var members []managedprocess.Member[int]
	for s := range senders {
		m, err := c1.Spawn(ctx, processgroup.Spec[int]{Name: fmt.Sprint("s", s), Groups: []string{"g"}})
		require.NoError(t, err)
		members = append(members, m)
	}
	proxy.armed.Store(true)

	roundsOf := make([][]uint64, senders+1)
	var wg sync.WaitGroup
	errs := make(chan error, senders+1)
	fail := func(err error) { // the first failure ends the others' waits
		errs <- err
		cancel()
	}
	for s, m := range members {
		wg.Go(func() {
			for r := range rounds {
				for i := range k {
					if err := m.Send(ctx, "consumer", r*(k+1)+i); err != nil {
						fail(fmt.Errorf("s%d send: %w", s, err))
						return
					}
				}
				if err := publishOnce(ctx, m, r*(k+1)+k); err != nil {
					fail(fmt.Errorf("s%d publish: %w", s, err))
					return
				}
				res, err := barrierRetrying(ctx, m)
				if err != nil {
					fail(fmt.Errorf("s%d round %d: %w", s, r, err))
					return
				}
				roundsOf[s] = append(roundsOf[s], res.Round)
			}
		})
	}
	wg.Go(func() {
		for r := range rounds {
			res, err := barrierRetrying(ctx, consumer)
			if err != nil {
				fail(fmt.Errorf("consumer round %d: %w", r, err))
				return
			}
			roundsOf[senders] = append(roundsOf[senders], res.Round)
			if err := holds(&mu, got, senders, (r+1)*(k+1)); err != nil {
				fail(fmt.Errorf("after round %d: %w", r, err))
				return
			}
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	for s := range senders {
		name := fmt.Sprint("s", s)
		for i, body := range got[name] {
			require.Equal(t, i, body, "%s's message %d", name, i)
		}
	}
	for i := range roundsOf {
		require.Len(t, roundsOf[i], rounds)
		for r, n := range roundsOf[i] {
			require.EqualValues(t, r+1, n, "participant %d's round %d", i, r)
		}
	}
	t.Logf("%d replies dropped of %d", proxy.drops.Load(), proxy.seen.Load())
	require.Greater(t, proxy.drops.Load(), int64(rounds), "too few replies were lost to show anything")
}

// holds checks that got starts with messages 0 … want-1 of each of the
// senders (those sent before the round; later ones may follow).
func holds(mu *sync.Mutex, got map[string][]int, senders, want int) error {
	mu.Lock()
	defer mu.Unlock()
	for s := range senders {
		g := got[fmt.Sprint("s", s)]
		if len(g) < want || g[want-1] != want-1 {
			return fmt.Errorf("the consumer holds %d messages of s%d, want messages 0 … %d first", len(g), s, want-1)
		}
	}
	return nil
}

// barrierRetrying is a delivery-fence Barrier, retried while it fails with
// ErrRedis (every retry of go-redis lost its reply too).
func barrierRetrying(ctx context.Context, m managedprocess.Member[int]) (fence.Result, error) {
	for {
		res, err := m.Barrier(ctx, "g", "b", fence.DeliveryFence)
		if !errors.Is(err, redisgroup.ErrRedis) || ctx.Err() != nil {
			return res, err
		}
	}
}

// publishOnce is a Publish; one that fails with ErrRedis is not retried
// (it may have been appended) but checked: it must not be appended twice.
func publishOnce(ctx context.Context, m managedprocess.Member[int], body int) error {
	err := m.Publish(ctx, "g", body)
	if errors.Is(err, redisgroup.ErrRedis) {
		return fmt.Errorf("publish failed after go-redis's retries: %w", err)
	}
	return err
}

// Replies lost, as above, for the other steps: registering a member (a
// Spawn whose script ran twice must not leave a second member of the name
// behind, nor fail as a duplicate), leaving (a Leave whose script ran twice
// is one leave, not ErrNotMember), dispatching (no task appended twice) and
// taking tasks (a delivery go-redis skipped past is handled anyway): every
// dispatched task is handled once when its producer's outbound fence
// returns, and the group has exactly the members spawned (live) and not yet
// left (members).
func TestLostRepliesRegisterLeaveDispatch(t *testing.T) {
	const (
		cycles = 30
		tasks  = 5
	)
	srv := redisserver.Start(t)
	proxy := startLossyProxy(t, srv.Addr, 19)
	rdb := redis.NewClient(&redis.Options{Addr: proxy.addr(), PoolSize: 16, MaxRetries: 10})
	t.Cleanup(func() { rdb.Close() })
	c, err := redisgroup.New(context.Background(), redisgroup.Config[int]{Client: rdb,
		Prefix: t.Name(), Group: "g", Heartbeat: 5 * time.Second}) // a lapse is not what this tests: heartbeats lose replies too
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	q, err := c.Queue("jobs")
	require.NoError(t, err)
	producer, err := c.Spawn(ctx, processgroup.Spec[int]{Name: "producer", Groups: []string{"g"}})
	require.NoError(t, err)
	worker, err := c.Spawn(ctx, processgroup.Spec[int]{Name: "worker", Groups: []string{"g"}})
	require.NoError(t, err)
	var mu sync.Mutex
	handled := map[int]int{}
	serveCtx, stopServing := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() {
		served <- q.Serve(serveCtx, worker, func(_ context.Context, m managedprocess.Message[int]) {
			mu.Lock()
			handled[m.Body]++
			mu.Unlock()
		})
	}()
	live := srv.Client(t, 1)
	proxy.armed.Store(true)
	for i := range cycles {
		// m<i> dispatches its tasks, waits for them and leaves; returning,
		// it departs.
		ran := make(chan error, 1)
		m, err := c.Spawn(ctx, processgroup.Spec[int]{Name: fmt.Sprint("m", i), Groups: []string{"g"},
			Run: func(ctx context.Context, m managedprocess.Member[int]) (err error) {
				defer func() { ran <- err }()
				if n := live.SCard(ctx, t.Name()+":{g}:members").Val(); n != 3 {
					return fmt.Errorf("%d members, want 3", n)
				}
				body := make([]int, tasks)
				for j := range body {
					body[j] = i*tasks + j
				}
				if err := q.Dispatch(ctx, m, body...); err != nil {
					return err
				}
				if err := m.WaitForOutboundFence(ctx); err != nil {
					return err
				}
				return m.Leave("g")
			}})
		require.NoError(t, err, "spawning m%d", i)
		select {
		case <-m.Done():
		case <-ctx.Done():
			t.Fatalf("cycle %d: m%d did not finish", i, i)
		}
		require.NoError(t, <-ran, "cycle %d", i)
		names, err := live.HKeys(ctx, t.Name()+":{g}:live").Result()
		require.NoError(t, err)
		require.ElementsMatch(t, []string{"producer", "worker"}, names, "cycle %d: live members", i)
	}
	require.NoError(t, c.Wait(context.WithoutCancel(ctx)))
	mu.Lock()
	for i := range cycles * tasks {
		require.Equal(t, 1, handled[i], "task %d", i)
	}
	require.Len(t, handled, cycles*tasks)
	mu.Unlock()
	stopServing()
	require.ErrorIs(t, <-served, context.Canceled)
	require.NoError(t, producer.Err())
	t.Logf("%d replies dropped of %d", proxy.drops.Load(), proxy.seen.Load())
	require.Greater(t, proxy.drops.Load(), int64(cycles), "too few replies were lost to show anything")
}
