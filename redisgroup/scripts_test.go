package redisgroup_test

import (
	"context"
	"strconv"
	"strings"
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

// fencedRound runs one DeliveryFence round of a sender and a receiver on c,
// the sender sending 10 messages first, and checks that all were handled
// at its release. name tells the members apart from an earlier round's.
func fencedRound(t *testing.T, c *redisgroup.Coordinator[int], group, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var handled atomic.Int64
	recv, err := c.Spawn(ctx, processgroup.Spec[int]{Name: "recv" + name, Groups: []string{group},
		Handler: func(context.Context, managedprocess.Message[int]) { handled.Add(1) }})
	require.NoError(t, err)
	send, err := c.Spawn(ctx, processgroup.Spec[int]{Name: "send" + name, Groups: []string{group}})
	require.NoError(t, err)
	for i := range 10 {
		require.NoError(t, send.Send(ctx, "recv"+name, i))
	}
	done := make(chan error, 1)
	go func() { _, err := recv.Barrier(ctx, group, "b", fence.DeliveryFence); done <- err }()
	_, err = send.Barrier(ctx, group, "b", fence.DeliveryFence)
	require.NoError(t, err)
	require.NoError(t, <-done)
	require.EqualValues(t, 10, handled.Load())
	require.NoError(t, send.Leave(group))
	require.NoError(t, recv.Leave(group))
}

// calls returns how many times the server ran command cmd (its
// commandstats' calls, not counting refused ones).
func calls(t *testing.T, rdb *redis.Client, cmd string) int {
	t.Helper()
	info, err := rdb.Info(context.Background(), "commandstats").Result()
	require.NoError(t, err)
	for _, line := range strings.Split(info, "\n") {
		if rest, ok := strings.CutPrefix(line, "cmdstat_"+cmd+":calls="); ok {
			n, err := strconv.Atoi(rest[:strings.IndexByte(rest, ',')])
			require.NoError(t, err)
			return n
		}
	}
	return 0
}

// The steps run as functions of the group's library; a server that lost
// the library (a restart, FUNCTION FLUSH) gets it again at the next step.
func TestStepsRunAsFunctions(t *testing.T) {
	srv := redisserver.Start(t)
	admin := srv.Client(t, 1)
	c := newGroup(t, srv, "g")
	fencedRound(t, c, "g", "1")
	require.Positive(t, calls(t, admin, "fcall"))
	require.Zero(t, calls(t, admin, "evalsha"), "no step ran as a script")

	ctx := context.Background()
	require.NoError(t, admin.FunctionFlush(ctx).Err())
	fencedRound(t, c, "g", "2")
	libs, err := admin.FunctionList(ctx, redis.FunctionListQuery{}).Result()
	require.NoError(t, err)
	require.Len(t, libs, 1, "the library was loaded again")
	require.Zero(t, calls(t, admin, "evalsha"))
}

// userGroup returns a coordinator of group "g" whose client logs in as
// user, created (by admin) with rules besides full access.
func userGroup(t *testing.T, srv *redisserver.Server, admin *redis.Client, user string, rules ...any) *redisgroup.Coordinator[int] {
	t.Helper()
	ctx := context.Background()
	args := append([]any{"ACL", "SETUSER", user, "on", ">pw", "~*", "&*", "+@all"}, rules...)
	require.NoError(t, admin.Do(ctx, args...).Err())
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr, Username: user, Password: "pw", PoolSize: 32})
	t.Cleanup(func() { _ = rdb.Close() })
	c, err := redisgroup.New(ctx, redisgroup.Config[int]{Client: rdb, Prefix: t.Name(), Group: "g",
		Heartbeat: 400 * time.Millisecond})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}

// A user who may not load or call functions gets the same steps as
// scripts.
func TestStepsRunAsScriptsWithoutFunctions(t *testing.T) {
	srv := redisserver.Start(t)
	admin := srv.Client(t, 1)
	c := userGroup(t, srv, admin, "nofn", "-function", "-fcall", "-fcall_ro")
	fencedRound(t, c, "g", "1")
	require.Zero(t, calls(t, admin, "fcall"), "no step ran as a function")
	require.Positive(t, calls(t, admin, "evalsha"))
}

// A coordinator whose user loses the right to call functions while it runs
// goes on with scripts.
func TestStepsFallBackToScripts(t *testing.T) {
	srv := redisserver.Start(t)
	admin := srv.Client(t, 1)
	c := userGroup(t, srv, admin, "fn")
	fencedRound(t, c, "g", "1")
	require.Zero(t, calls(t, admin, "evalsha"))

	require.NoError(t, admin.Do(context.Background(), "ACL", "SETUSER", "fn", "-fcall").Err())
	fencedRound(t, c, "g", "2")
	require.Positive(t, calls(t, admin, "evalsha"), "the steps ran as scripts")
}
