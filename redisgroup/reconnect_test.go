package redisgroup_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
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

// The reconnect tests drop client connections from the server side (CLIENT
// KILL, issued by an admin connection that spares itself) while the server
// keeps its state, and check that nothing is missed: every message is
// handled once and in order, every round is released for every waiter, no
// call hangs and no member sees an error. The heartbeat is generous, so a
// dropped connection is never taken for a lapse.
//
// Each test runs in these modes:
//
//   - "all": with the client's own retries (go-redis retries a command whose
//     connection died, which is what a deployment has), every connection
//     is killed, those waiting (readers blocked in XREAD, watchers'
//     subscriptions) and those with a command on its way, but never one whose command ran and whose reply is still
//     unsent: writes are paused (CLIENT PAUSE WRITE) while the replies
//     drain and the connections are killed.
//   - "blocked-unretried": with MaxRetries -1, only the waiting connections
//     (readers blocked in XREAD, watchers' subscriptions) are killed, so
//     that every kill reaches the readers' own retry from the last id they
//     saw and the watchers' resubscription and catch-up (the other calls, on
//     connections that are not killed, never fail there). The tests kill so
//     only at a quiet instant: under traffic a connection listed as blocked
//     may carry another call by the time it is killed, whose error a client
//     without retries returns. The sustained test kills the blocked
//     connections with the client's retries instead ("blocked").
//   - "all-inflight": as "all", but killed at any instant, also after a
//     script ran and before its reply was sent: the client then runs again
//     a script that did run, and the send and arrive scripts must take it
//     for a retry (a message appended twice, or an arrival counted at the
//     next round too, fails the test).

const reconnectHeartbeat = 2 * time.Second

// rmsg is a message of the reconnect tests: message Seq of sender From's
// lane to its recipient (lane 0 from the run function, lane 1 from the
// handler, each numbered from 1 per recipient), sent in Round; a message
// with TTL > 0 makes its recipient forward one with TTL-1.
type rmsg struct {
	From  int `json:"f"`
	Lane  int `json:"l"`
	Seq   int `json:"q"`
	Round int `json:"r"`
	TTL   int `json:"t"`
	// Outage: the recipient's handler starts an outage (see
	// TestReconnectOutageAfterBatch).
	Outage bool `json:"o,omitempty"`
}

// killMode is how a test drops connections.
type killMode struct {
	name       string
	maxRetries int // the members' clients' redis.Options.MaxRetries
	// kill drops connections and returns the ids of those it killed:
	// every one, or those waiting (blocked, when the caller just listed
	// them).
	kill func(a *admin, ctx context.Context, blocked []string) ([]string, error)
}

var killModes = []killMode{
	{name: "all", maxRetries: 0, kill: (*admin).killAllQuiesced},
	{name: "blocked-unretried", maxRetries: -1, kill: (*admin).killBlockedReads},
	{name: "all-inflight", maxRetries: 0, kill: (*admin).killAll},
}

// forKillModes runs f as a subtest of t for each mode (of modes, or
// killModes).
func forKillModes(t *testing.T, f func(t *testing.T, mode killMode), modes ...killMode) {
	if modes == nil {
		modes = killModes
	}
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) { f(t, mode) })
	}
}

// admin is a connection of its own to the server, which kills the others.
type admin struct{ rdb *redis.Client }

func newAdmin(t *testing.T, srv *redisserver.Server) *admin {
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr, PoolSize: 1, MaxRetries: -1})
	t.Cleanup(func() { rdb.Close() })
	return &admin{rdb: rdb}
}

// client is a line of CLIENT LIST.
type client struct{ id, name, flags, cmd, obl, oll string }

// replying: the client has a reply not yet written to its socket.
func (c client) replying() bool { return c.obl != "0" || c.oll != "0" }

// waiting: the client is a reader blocked in XREAD or a watcher's
// subscription.
func (c client) waiting() bool {
	return c.cmd == "xread" && strings.Contains(c.flags, "b") || strings.Contains(c.flags, "P")
}

// clients lists the clients (normal and subscribed) but the admin's own
// connection.
func (a *admin) clients(ctx context.Context) ([]client, error) {
	self, err := a.rdb.Do(ctx, "CLIENT", "ID").Int64()
	if err != nil {
		return nil, err
	}
	s, err := a.rdb.Do(ctx, "CLIENT", "LIST").Text()
	if err != nil {
		return nil, err
	}
	var out []client
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		var c client
		for _, f := range strings.Fields(line) {
			k, v, _ := strings.Cut(f, "=")
			switch k {
			case "id":
				c.id = v
			case "name":
				c.name = v
			case "flags":
				c.flags = v
			case "cmd":
				c.cmd = v
			case "obl":
				c.obl = v
			case "oll":
				c.oll = v
			}
		}
		if c.id != "" && c.id != fmt.Sprint(self) {
			out = append(out, c)
		}
	}
	return out, nil
}

func (a *admin) blockedReads(ctx context.Context) ([]string, error) {
	cs, err := a.clients(ctx)
	var ids []string
	for _, c := range cs {
		if c.waiting() {
			ids = append(ids, c.id)
		}
	}
	return ids, err
}

// killAll kills every connection but its own, normal and subscribed, and
// checks with the replies' counts and CLIENT LIST that they are gone.
func (a *admin) killAll(ctx context.Context, _ []string) ([]string, error) {
	before, err := a.clients(ctx)
	if err != nil {
		return nil, err
	}
	n := 0
	for _, typ := range []string{"normal", "pubsub"} {
		k, err := a.rdb.Do(ctx, "CLIENT", "KILL", "TYPE", typ, "SKIPME", "yes").Int()
		if err != nil {
			return nil, err
		}
		n += k
	}
	after, err := a.clients(ctx)
	if err != nil {
		return nil, err
	}
	alive := map[string]bool{}
	for _, c := range after {
		alive[c.id] = true
	}
	var killed []string
	for _, c := range before {
		if alive[c.id] {
			return nil, fmt.Errorf("client %s (cmd=%s) survived CLIENT KILL", c.id, c.cmd)
		}
		killed = append(killed, c.id)
	}
	if n < len(killed) {
		return nil, fmt.Errorf("CLIENT KILL killed %d clients, %d were connected", n, len(killed))
	}
	return killed, nil
}

// killAllQuiesced is killAll with writes paused once every reply was sent:
// it kills connections waiting (in XREAD or subscribed) or with a command
// not yet run, never one whose command ran and whose reply was not sent yet.
func (a *admin) killAllQuiesced(ctx context.Context, _ []string) (killed []string, err error) {
	if err := a.rdb.Do(ctx, "CLIENT", "PAUSE", 2000, "WRITE").Err(); err != nil {
		return nil, err
	}
	defer func() {
		if uerr := a.rdb.Do(context.WithoutCancel(ctx), "CLIENT", "UNPAUSE").Err(); uerr != nil && err == nil {
			err = uerr
		}
	}()
	for i := 0; ; i++ {
		cs, err := a.clients(ctx)
		if err != nil {
			return nil, err
		}
		if !slices.ContainsFunc(cs, client.replying) {
			break
		}
		if i == 1000 {
			return nil, fmt.Errorf("replies not sent with writes paused: %+v", cs)
		}
		time.Sleep(100 * time.Microsecond)
	}
	return a.killAll(ctx, nil)
}

// killBlockedReads kills the waiting connections: blocked in XREAD, or a
// watcher's subscription (those listed in ids, or when nil those it finds),
// by id.
func (a *admin) killBlockedReads(ctx context.Context, ids []string) ([]string, error) {
	if ids == nil {
		var err error
		if ids, err = a.blockedReads(ctx); err != nil {
			return nil, err
		}
	}
	var killed []string
	for _, id := range ids {
		n, err := a.rdb.Do(ctx, "CLIENT", "KILL", "ID", id, "SKIPME", "yes").Int()
		if err != nil {
			return nil, err
		}
		if n == 1 {
			killed = append(killed, id)
		}
	}
	return killed, nil
}

// waitBlocked waits until at least n connections wait (blocked in XREAD or
// subscribed: so every reader and watcher of the test does), and returns
// their ids.
func (a *admin) waitBlocked(ctx context.Context, n int) ([]string, error) {
	for {
		ids, err := a.blockedReads(ctx)
		if err != nil || len(ids) >= n {
			return ids, err
		}
		select {
		case <-ctx.Done():
			return ids, fmt.Errorf("%d connections waiting, want %d: %w", len(ids), n, ctx.Err())
		case <-time.After(time.Millisecond):
		}
	}
}

// killer kills connections at random intervals until stopped.
type killer struct {
	kills, hits, killed atomic.Int64
	err                 atomic.Pointer[error]
	stop                chan struct{}
	done                chan struct{}
}

func startKiller(ctx context.Context, a *admin, mode killMode, minGap, maxGap time.Duration) *killer {
	k := &killer{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(k.done)
		for {
			select {
			case <-k.stop:
				return
			case <-ctx.Done():
				return
			case <-time.After(minGap + rand.N(maxGap-minGap)):
			}
			ids, err := mode.kill(a, ctx, nil)
			if err != nil {
				if ctx.Err() == nil {
					k.err.Store(&err)
				}
				return
			}
			k.kills.Add(1)
			if len(ids) > 0 {
				k.hits.Add(1)
			}
			k.killed.Add(int64(len(ids)))
		}
	}()
	return k
}

func (k *killer) finish(t *testing.T) {
	t.Helper()
	close(k.stop)
	<-k.done
	if err := k.err.Load(); err != nil {
		t.Fatalf("killing connections: %v", *err)
	}
	t.Logf("%d kills, %d of them killed connections, %d connections killed", k.kills.Load(), k.hits.Load(), k.killed.Load())
}

// logBuffer collects what the coordinators log.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) report(t *testing.T) {
	l.mu.Lock()
	defer l.mu.Unlock()
	lines := strings.Split(strings.TrimSpace(l.b.String()), "\n")
	if l.b.Len() == 0 {
		lines = nil
	}
	t.Logf("%d warnings logged", len(lines))
	for i, line := range lines {
		if i == 10 {
			t.Logf("…")
			break
		}
		t.Logf("  %s", line)
	}
}

// reconnectGroup returns a coordinator of the test's group with a client of
// its own (as a process of its own would have).
func reconnectGroup(t *testing.T, srv *redisserver.Server, mode killMode, logs *logBuffer, window int,
	opt ...func(*redis.Options)) *redisgroup.Coordinator[rmsg] {
	t.Helper()
	o := &redis.Options{Addr: srv.Addr, PoolSize: 48, MaxRetries: mode.maxRetries}
	for _, f := range opt {
		f(o)
	}
	rdb := redis.NewClient(o)
	t.Cleanup(func() { rdb.Close() })
	c, err := redisgroup.New(context.Background(), redisgroup.Config[rmsg]{Client: rdb, Prefix: t.Name(), Group: "g",
		Heartbeat: reconnectHeartbeat, Window: window, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}

// inboxes checks what each recipient handles: per sender and lane, every
// Seq once and in order.
type inboxes struct {
	last [][][2]atomic.Int64 // recipient, sender, lane → the last Seq handled
	mu   sync.Mutex
	errs []string
}

func newInboxes(recipients, senders int) *inboxes {
	in := &inboxes{last: make([][][2]atomic.Int64, recipients)}
	for i := range in.last {
		in.last[i] = make([][2]atomic.Int64, senders)
	}
	return in
}

// handled records that recipient rc handled msg, which must be the next of
// its lane.
func (in *inboxes) handled(rc int, msg rmsg) {
	prev := in.last[rc][msg.From][msg.Lane].Load()
	if int64(msg.Seq) != prev+1 {
		what := "duplicated or reordered"
		if int64(msg.Seq) > prev+1 {
			what = fmt.Sprintf("%d missed", int64(msg.Seq)-prev-1)
		}
		in.failf("m%d got %+v after seq %d: %s", rc, msg, prev, what)
	}
	if int64(msg.Seq) > prev {
		in.last[rc][msg.From][msg.Lane].Store(int64(msg.Seq))
	}
}

func (in *inboxes) failf(format string, args ...any) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if len(in.errs) < 20 {
		in.errs = append(in.errs, fmt.Sprintf(format, args...))
	}
}

func (in *inboxes) check(t *testing.T) {
	t.Helper()
	in.mu.Lock()
	defer in.mu.Unlock()
	require.Empty(t, in.errs)
}

// (1) A reader blocked in XREAD when its connection dies, and messages in
// flight when the connections die: a sender on one coordinator streams
// bursts to a recipient on another; before each burst every reader is
// blocked in XREAD and every watcher subscribed, and they are killed (so the burst is appended while
// the recipient's reader reconnects), and the connections are killed again
// in the middle of the burst. After each burst a fence (outbound, delivery
// or processing, in turn) must return with every message handled, once, in
// order.
func TestReconnectBlockedReader(t *testing.T) {
	forKillModes(t, func(t *testing.T, mode killMode) {
		srv := redisserver.Start(t)
		a := newAdmin(t, srv)
		var logs logBuffer
		defer logs.report(t)
		sc, rc := reconnectGroup(t, srv, mode, &logs, 0), reconnectGroup(t, srv, mode, &logs, 0)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		in := newInboxes(1, 1)
		var handled atomic.Int64
		_, err := rc.Spawn(ctx, processgroup.Spec[rmsg]{Name: "recipient",
			Handler: func(_ context.Context, m managedprocess.Message[rmsg]) {
				in.handled(0, m.Body)
				handled.Add(1)
			}})
		require.NoError(t, err)
		sender, err := sc.Spawn(ctx, processgroup.Spec[rmsg]{Name: "sender", Groups: []string{"g"}})
		require.NoError(t, err)
		// The first message makes the recipient known to the sender.
		seq := 1
		require.NoError(t, sender.Send(ctx, "recipient", rmsg{Seq: seq}))
		require.NoError(t, sender.WaitForOutboundFence(ctx))
		const cycles, burst = 24, 60
		// Two watchers and two readers.
		const blocking = 4
		for cycle := 1; cycle <= cycles; cycle++ {
			blocked, err := a.waitBlocked(ctx, blocking)
			require.NoError(t, err, "cycle %d", cycle)
			killed, err := mode.kill(a, ctx, blocked)
			require.NoError(t, err)
			require.Subset(t, killed, blocked, "cycle %d: the blocked readers were not all killed", cycle)
			for j := 1; j <= burst; j++ {
				seq++
				require.NoError(t, sender.Send(ctx, "recipient", rmsg{Seq: seq}), "cycle %d", cycle)
				if j == burst/2 {
					_, err := mode.kill(a, ctx, nil)
					require.NoError(t, err)
				}
			}
			switch cycle % 3 {
			case 0:
				require.NoError(t, sender.WaitForOutboundFence(ctx), "cycle %d", cycle)
			case 1:
				r, err := sender.Barrier(ctx, "g", "b", fence.DeliveryFence)
				require.NoError(t, err, "cycle %d", cycle)
				require.EqualValues(t, 1+cycle/3*2, r.Round)
			case 2:
				r, err := sender.Barrier(ctx, "g", "b", fence.ProcessingFence)
				require.NoError(t, err, "cycle %d", cycle)
				require.EqualValues(t, 2+cycle/3*2, r.Round)
			}
			in.check(t)
			require.EqualValues(t, seq, handled.Load(), "cycle %d: messages sent, and handled when the fence returned", cycle)
		}
		require.NoError(t, sender.Err())
	})
}

// (2) A round released while the waiters' watcher is disconnected: the
// waiters on one coordinator arrive and wait, every reader blocked in XREAD
// and every watcher's subscription is killed, and then the last member, on
// another coordinator, arrives and releases the round, whose release is
// published while the waiters' watcher resubscribes. Every waiter must be
// released, with the round's number, and within a watcher interval
// (Heartbeat/4) of the release: found by the check the watcher runs after
// resubscribing, not later by the periodic one. Delivery and processing fences
// alternate, over messages the members exchange before arriving.
func TestReconnectReleaseWhileWatcherDown(t *testing.T) {
	forKillModes(t, func(t *testing.T, mode killMode) {
		srv := redisserver.Start(t)
		a := newAdmin(t, srv)
		var logs logBuffer
		defer logs.report(t)
		wc, lc := reconnectGroup(t, srv, mode, &logs, 0), reconnectGroup(t, srv, mode, &logs, 0)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		const waiters, rounds, k = 3, 20, 10
		in := newInboxes(waiters+1, waiters+1)
		var handled atomic.Int64
		spawn := func(c *redisgroup.Coordinator[rmsg], i int) managedprocess.Member[rmsg] {
			m, err := c.Spawn(ctx, processgroup.Spec[rmsg]{Name: fmt.Sprint("m", i), Groups: []string{"g"},
				Handler: func(_ context.Context, m managedprocess.Message[rmsg]) {
					time.Sleep(50 * time.Microsecond)
					in.handled(i, m.Body)
					handled.Add(1)
				}})
			require.NoError(t, err)
			return m
		}
		var ms []managedprocess.Member[rmsg]
		for i := range waiters {
			ms = append(ms, spawn(wc, i))
		}
		last := spawn(lc, waiters)
		ms = append(ms, last)
		var sent [waiters + 1][waiters + 1]int
		send := func(from, to int) {
			sent[from][to]++
			require.NoError(t, ms[from].Send(ctx, fmt.Sprint("m", to), rmsg{From: from, Seq: sent[from][to]}))
		}
		interval := reconnectHeartbeat / 4
		var worst time.Duration
		for round := 1; round <= rounds; round++ {
			fm := fence.DeliveryFence
			if round%2 == 0 {
				fm = fence.ProcessingFence
			}
			type result struct {
				r   fence.Result
				err error
				at  time.Time
			}
			results := make(chan result, waiters)
			for i := range waiters {
				for j := range k {
					send(i, (i+1+j)%(waiters+1))
				}
				arr, err := ms[i].Arrive(ctx, "g", "b", fm)
				require.NoError(t, err, "round %d", round)
				require.EqualValues(t, round, arr.Round())
				go func() {
					r, err := arr.Wait(ctx)
					results <- result{r, err, time.Now()}
				}()
			}
			for j := range k {
				send(waiters, j%waiters)
			}
			// Every reader (one per member) is blocked in XREAD and both
			// watchers are subscribed: the messages were handled, the
			// waiters wait.
			blocked, err := a.waitBlocked(ctx, waiters+1+2)
			require.NoError(t, err, "round %d", round)
			killed, err := mode.kill(a, ctx, blocked)
			require.NoError(t, err)
			require.Subset(t, killed, blocked, "round %d: the blocked readers were not all killed", round)
			r, err := last.Barrier(ctx, "g", "b", fm)
			released := time.Now()
			require.NoError(t, err, "round %d", round)
			require.EqualValues(t, round, r.Round)
			for range waiters {
				var res result
				select {
				case res = <-results:
				case <-ctx.Done():
					t.Fatalf("round %d: a waiter was not released", round)
				}
				require.NoError(t, res.err, "round %d", round)
				require.EqualValues(t, round, res.r.Round)
				worst = max(worst, res.at.Sub(released))
			}
			// The round fenced what its members sent before arriving.
			var want int
			for from := range sent {
				for to := range sent[from] {
					want += sent[from][to]
					if got := in.last[to][from][0].Load(); got < int64(sent[from][to]) {
						t.Fatalf("round %d: m%d handled %d of m%d's %d messages at the release", round, to, got, from, sent[from][to])
					}
				}
			}
			require.EqualValues(t, want, handled.Load())
			in.check(t)
		}
		t.Logf("slowest release after the last arrival: %v (watcher interval %v)", worst, interval)
		require.Less(t, worst, interval, "a release was not found right after the reconnect")
		for _, m := range ms {
			require.NoError(t, m.Err())
		}
	})
}

// (3) Many kill cycles during a sustained run: six members on three
// coordinators (small windows, so that senders also wait for room) stream
// messages to each other and meet at one barrier, delivery and processing
// fences in turn, while connections are killed at random every few tens of
// milliseconds. In a processing round each message makes its recipient
// forward a chain of two more. At each release every message of the round
// (and in a processing round every forward) has been handled; every message
// is handled once and in order; no member sees an error.
func TestReconnectSustainedKills(t *testing.T) {
	forKillModes(t, func(t *testing.T, mode killMode) {
		srv := redisserver.Start(t)
		a := newAdmin(t, srv)
		var logs logBuffer
		defer logs.report(t)
		const members, rounds, k, hops, window = 6, 30, 24, 2, 8
		var cs []*redisgroup.Coordinator[rmsg]
		for range 3 {
			cs = append(cs, reconnectGroup(t, srv, mode, &logs, window))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		in := newInboxes(members, members)
		var sent [members][members][2]atomic.Int64 // sender, recipient, lane
		var seen, forwarded [rounds + 1]atomic.Int64
		gate, err := cs[0].Spawn(ctx, processgroup.Spec[rmsg]{Name: "gate", Groups: []string{"g"}})
		require.NoError(t, err)
		spawned := make(chan struct{})
		for i := range members {
			_, err := cs[i%3].Spawn(ctx, processgroup.Spec[rmsg]{Name: fmt.Sprint("m", i), Groups: []string{"g"},
				Handler: func(ctx context.Context, msg managedprocess.Message[rmsg]) {
					if i%2 == 0 {
						time.Sleep(20 * time.Microsecond) // slow recipients lag
					}
					b := msg.Body
					in.handled(i, b)
					if b.Lane == 0 {
						seen[b.Round].Add(1)
					} else {
						forwarded[b.Round].Add(1)
					}
					if b.TTL > 0 {
						to := (i + 1) % members
						seq := sent[i][to][1].Add(1)
						fwd := rmsg{From: i, Lane: 1, Seq: int(seq), Round: b.Round, TTL: b.TTL - 1}
						if err := msg.Recipient().Send(ctx, fmt.Sprint("m", to), fwd); err != nil {
							in.failf("m%d forwarding: %v", i, err)
						}
					}
				},
				Run: func(ctx context.Context, m managedprocess.Member[rmsg]) error {
					<-spawned
					for r := 1; r <= rounds; r++ {
						fm, ttl := fence.DeliveryFence, 0
						if r%2 == 0 {
							fm, ttl = fence.ProcessingFence, hops
						}
						for j := range k {
							to := (i + 1 + j) % members
							seq := sent[i][to][0].Add(1)
							if err := m.Send(ctx, fmt.Sprint("m", to), rmsg{From: i, Seq: int(seq), Round: r, TTL: ttl}); err != nil {
								return fmt.Errorf("round %d: %w", r, err)
							}
						}
						res, err := m.Barrier(ctx, "g", "b", fm)
						if err != nil {
							return fmt.Errorf("round %d: %w", r, err)
						}
						if res.Round != uint64(r) {
							in.failf("m%d: round %d released as round %d", i, r, res.Round)
						}
						if got := seen[r].Load(); got != members*k {
							in.failf("m%d: %d of round %d's %d messages handled at its release (%v)", i, got, r, members*k, fm)
						}
						if got := forwarded[r].Load(); fm == fence.ProcessingFence && got != members*k*hops {
							in.failf("m%d: %d of round %d's %d forwards handled at its release", i, got, r, members*k*hops)
						}
					}
					return nil
				}})
			require.NoError(t, err)
		}
		const gap = 40 * time.Millisecond
		kl := startKiller(ctx, a, mode, gap/2, gap*3/2)
		close(spawned)
		require.NoError(t, gate.Leave("g")) // the gate held round 1 open until all were spawned
		start := time.Now()
		for _, c := range cs {
			require.NoError(t, c.Wait(ctx))
		}
		kl.finish(t)
		t.Logf("%d rounds in %v", rounds, time.Since(start))
		in.check(t)
		// The last round is a processing fence: everything sent was
		// handled.
		for from := range members {
			for to := range members {
				for lane := range 2 {
					require.Equal(t, sent[from][to][lane].Load(), in.last[to][from][lane].Load(),
						"m%d's lane %d to m%d", from, lane, to)
				}
			}
		}
		require.GreaterOrEqual(t, kl.hits.Load(), int64(10), "too few kills reached a connection: the test shows little")
	}, killModes[0], killMode{name: "blocked", kill: (*admin).killBlockedReads}, killModes[2])
}

// killNamed kills the connections of the clients called name.
func (a *admin) killNamed(ctx context.Context, name string) (int, error) {
	cs, err := a.clients(ctx)
	if err != nil {
		return 0, err
	}
	killed := 0
	for _, c := range cs {
		if c.name != name {
			continue
		}
		n, err := a.rdb.Do(ctx, "CLIENT", "KILL", "ID", c.id, "SKIPME", "yes").Int()
		if err != nil {
			return killed, err
		}
		killed += n
	}
	return killed, nil
}

// (4) An outage longer than the client's retries and shorter than the
// heartbeat, just after a batch was handled: the recipient's handler, at
// the last message of a burst, pauses writes (so the progress report the
// reader sends next waits on the server), and then every connection of the
// recipient's coordinator is killed again and again for 600ms, so that the
// report and all the client's retries of it fail. The report must not be
// lost: the sender's fences (outbound and delivery, in turn), which wait
// for it, must return once the connections come back, with every message
// handled once, in order.
func TestReconnectOutageAfterBatch(t *testing.T) {
	srv := redisserver.Start(t)
	a := newAdmin(t, srv)
	var logs logBuffer
	defer logs.report(t)
	mode := killModes[0] // the client's own retries
	name := fmt.Sprintf("recipient-%d", rand.Int64())
	sc := reconnectGroup(t, srv, mode, &logs, 0)
	rc := reconnectGroup(t, srv, mode, &logs, 0, func(o *redis.Options) { o.ClientName = name })
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	in := newInboxes(1, 1)
	var handled atomic.Int64
	paused := make(chan error, 1)
	_, err := rc.Spawn(ctx, processgroup.Spec[rmsg]{Name: "recipient",
		Handler: func(_ context.Context, m managedprocess.Message[rmsg]) {
			in.handled(0, m.Body)
			handled.Add(1)
			if m.Body.Outage {
				paused <- a.rdb.Do(ctx, "CLIENT", "PAUSE", 5000, "WRITE").Err()
			}
		}})
	require.NoError(t, err)
	sender, err := sc.Spawn(ctx, processgroup.Spec[rmsg]{Name: "sender", Groups: []string{"g"}})
	require.NoError(t, err)
	const cycles, burst, outage = 6, 40, 600 * time.Millisecond
	seq := 0
	for cycle := 1; cycle <= cycles; cycle++ {
		for j := 1; j <= burst; j++ {
			seq++
			require.NoError(t, sender.Send(ctx, "recipient", rmsg{Seq: seq, Outage: j == burst}))
		}
		select {
		case err := <-paused:
			require.NoError(t, err)
		case <-ctx.Done():
			t.Fatalf("cycle %d: the burst was not handled", cycle)
		}
		var kills, killed int
		for end := time.Now().Add(outage); time.Now().Before(end); {
			n, err := a.killNamed(ctx, name)
			require.NoError(t, err)
			kills++
			killed += n
			time.Sleep(2 * time.Millisecond)
		}
		require.NoError(t, a.rdb.Do(ctx, "CLIENT", "UNPAUSE").Err())
		require.Positive(t, killed, "cycle %d: no connection of the recipient was killed", cycle)
		t.Logf("cycle %d: %d connections killed in %d kills", cycle, killed, kills)
		fctx, fcancel := context.WithTimeout(ctx, 4*reconnectHeartbeat)
		if cycle%2 == 1 {
			err = sender.WaitForOutboundFence(fctx)
		} else {
			_, err = sender.Barrier(fctx, "g", "b", fence.DeliveryFence)
		}
		fcancel()
		require.NoError(t, err, "cycle %d: the recipient's progress was lost", cycle)
		in.check(t)
		require.EqualValues(t, seq, handled.Load(), "cycle %d", cycle)
	}
	require.NoError(t, sender.Err())
}
