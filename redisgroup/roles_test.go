package redisgroup_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/managedprocess"
	"github.com/muster-go/muster/processgroup"
	"github.com/muster-go/muster/redisgroup"
)

// The environment of a member process.
const (
	roleEnv   = "REDISGROUP_TEST_ROLE"
	addrEnv   = "REDISGROUP_TEST_ADDR"
	prefixEnv = "REDISGROUP_TEST_PREFIX"
	groupEnv  = "REDISGROUP_TEST_GROUP"
	nameEnv   = "REDISGROUP_TEST_NAME"
	argEnv    = "REDISGROUP_TEST_ARG"
)

// roles are what a member process can run (and benchRoles, for the
// benchmarks). Each prints "ready" once its
// member is registered, and "arrived" when it arrives at a barrier.
var roles = map[string]func(ctx context.Context, m managedprocess.Member[int], group string, arg int) error{
	// idle arrives nowhere: it waits until killed.
	"idle": func(ctx context.Context, m managedprocess.Member[int], _ string, _ int) error {
		fmt.Println("ready")
		<-ctx.Done()
		return nil
	},
	// sender sends arg markers (1 … arg) to "consumer", then meets the
	// group at barrier "b" (a delivery fence).
	"sender": func(ctx context.Context, m managedprocess.Member[int], group string, arg int) error {
		fmt.Println("ready")
		for i := 1; i <= arg; i++ {
			if err := m.Send(ctx, "consumer", i); err != nil {
				return err
			}
		}
		fmt.Println("arrived")
		_, err := m.Barrier(ctx, group, "b", fence.DeliveryFence)
		return err
	},
}

// runRole runs a member process: it serves one member, named by nameEnv,
// until the role returns, and exits 0 when it returned nil.
func runRole(role string) int {
	ctx := context.Background()
	arg, _ := strconv.Atoi(os.Getenv(argEnv))
	rdb := redis.NewClient(&redis.Options{Addr: os.Getenv(addrEnv), PoolSize: 16})
	defer rdb.Close()
	group := os.Getenv(groupEnv)
	c, err := redisgroup.New(ctx, redisgroup.Config[int]{Client: rdb, Prefix: os.Getenv(prefixEnv), Group: group,
		Heartbeat: 400 * time.Millisecond})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer c.Close(ctx)
	if role == "worker" || role == "hanger" {
		return serveQueue(ctx, c, rdb, role == "hanger")
	}
	run, ok := roles[role]
	if !ok {
		run, ok = benchRoles[role]
	}
	if !ok {
		fmt.Fprintln(os.Stderr, "no role", role)
		return 2
	}
	m, err := c.Spawn(ctx, processgroup.Spec[int]{Name: os.Getenv(nameEnv), Groups: []string{group},
		Run: func(ctx context.Context, m managedprocess.Member[int]) error { return run(ctx, m, group, arg) }})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	<-m.Done()
	if err := c.Wait(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// memberProcess is a member process a test started.
type memberProcess struct {
	cmd   *exec.Cmd
	lines chan string
}

// startMember starts a member process running role as member name of the
// test's group, and waits for it to print "ready".
func startMember(t *testing.T, addr, group, name, role string, arg int) *memberProcess {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), roleEnv+"="+role, addrEnv+"="+addr, prefixEnv+"="+t.Name(),
		groupEnv+"="+group, nameEnv+"="+name, argEnv+"="+strconv.Itoa(arg))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	p := &memberProcess{cmd: cmd, lines: make(chan string, 64)}
	go func() {
		defer close(p.lines)
		s := bufio.NewScanner(out)
		for s.Scan() {
			select {
			case p.lines <- strings.TrimSpace(s.Text()):
			default: // nobody expects so many lines
			}
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	})
	p.expect(t, "ready")
	return p
}

// expect waits for the process to print line.
func (p *memberProcess) expect(t *testing.T, line string) {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case l, ok := <-p.lines:
			if !ok {
				t.Fatalf("member process ended before printing %q", line)
			}
			if l == line {
				return
			}
		case <-timeout:
			t.Fatalf("member process did not print %q", line)
		}
	}
}

// serveQueue serves the queue "tasks" as a worker process: each task it
// handles goes into the set "<prefix>:handled" (the test's record). A
// hanger prints "taken" at its first task and then hangs in it, until it is
// killed.
func serveQueue(ctx context.Context, c *redisgroup.Coordinator[int], rdb *redis.Client, hang bool) int {
	q, err := c.Queue("tasks")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	w, err := c.Spawn(ctx, processgroup.Spec[int]{Name: os.Getenv(nameEnv), Groups: []string{os.Getenv(groupEnv)}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	fmt.Println("ready")
	err = q.Serve(ctx, w, func(ctx context.Context, t managedprocess.Message[int]) {
		if hang {
			fmt.Println("taken")
			select {}
		}
		rdb.SAdd(ctx, os.Getenv(prefixEnv)+":handled", t.Body)
	})
	fmt.Fprintln(os.Stderr, err)
	return 1
}
