//go:build unix

package processgroup

import (
	"context"
	"fmt"
	"maps"
	"os"
	"os/signal"
	"slices"
	"syscall"
	"time"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/internal/wire"
	"github.com/muster-go/muster/managedprocess"
)

// ServeChild serves this process as a member, if a coordinator started it
// with SpawnProcess, and reports whether it did. A program that spawns
// itself calls it first thing in main:
//
//	if child, err := processgroup.ServeChild(ctx, roles); child {
//		if err != nil {
//			log.Fatal(err)
//		}
//		return
//	}
//
// Not a child, it returns false and nil at once. A child, it runs the role
// its coordinator named, with the same Member API, errors and guarantees as
// a goroutine member, until the coordinator ends the connection (the member
// departed, or the coordinator closed) and the body returned; then it
// returns true and nil, and the program should exit with status 0. An
// unknown role or a broken connection is an error: the program should exit
// with a non-zero status, which its coordinator reports.
//
// If the coordinator's process is gone (the connection ends, or SIGTERM
// arrives: on Linux the parent-death signal), the member's context is
// cancelled with ErrCoordinatorLost and, after the grace period of its
// ProcessSpec's Lifeline, the process exits with the lifeline's exit code;
// ServeChild does not return. If ctx ends first, the connection is closed
// (the coordinator reports the member failed, unless it had departed) and
// ServeChild returns ctx's cause.
func ServeChild[T any](ctx context.Context, roles map[string]Role[T]) (child bool, err error) {
	env, ok := os.LookupEnv(childEnv)
	if !ok {
		return false, nil
	}
	os.Unsetenv(childEnv) // not for this process's own children
	cfg, err := parseChildConfig(env)
	if err != nil {
		return true, err
	}
	role, ok := roles[cfg.Role]
	if !ok {
		return true, fmt.Errorf("processgroup: child %v: no role %q (roles: %q): %w",
			cfg.Member, cfg.Role, slices.Sorted(maps.Keys(roles)), fence.ErrInvalidArgument)
	}
	codec := role.Codec
	if codec == nil {
		codec = managedprocess.JSON[T]()
	}
	if codec.Name() != cfg.Codec {
		return true, fmt.Errorf("processgroup: child %v: role %q has the %s codec, the coordinator the %s codec: %w",
			cfg.Member, cfg.Role, codec.Name(), cfg.Codec, fence.ErrInvalidArgument)
	}
	conn, err := wire.InheritedConn(cfg.FD, cfg.OutFD)
	if err != nil {
		return true, fmt.Errorf("processgroup: child %v: %w", cfg.Member, err)
	}
	var remote *wire.Remote[T]
	pipe := wire.NewSocketConn(conn, func(f *wire.Frame) { remote.Take(f) }, func() { remote.Flush() }, cfg.FrameLimit, nil)
	var run func(context.Context, managedprocess.Member[T]) error
	if role.Run != nil {
		run = role.Run
	}
	remote = wire.NewRemote(cfg.Member, pipe, codec, role.Handler, run, cfg.FrameLimit)
	pipe.Start() // after remote is set: the reader uses it
	return true, serve(ctx, cfg, remote, pipe)
}

// serve waits for the connection to end, as ServeChild says.
func serve[T any](ctx context.Context, cfg childConfig, remote *wire.Remote[T], pipe *wire.SocketPipe) error {
	terminated := make(chan os.Signal, 1)
	signal.Notify(terminated, syscall.SIGTERM)
	defer signal.Stop(terminated)
	ended := pipe.Ended()
	select {
	case <-remote.Finished(): // the coordinator closed the connection
		<-remote.BodyDone()
		remote.Wait()
		pipe.Close()
		return nil
	case <-ended:
	case <-terminated:
	case <-ctx.Done():
		remote.Lose(context.Cause(ctx))
		pipe.Abort()
		pipe.Close()
		remote.Wait()
		return fmt.Errorf("processgroup: child %v: %w", cfg.Member, context.Cause(ctx))
	}
	select {
	case <-remote.Finished(): // the connection ended right after the coordinator closed it
		<-remote.BodyDone()
		remote.Wait()
		pipe.Abort()
		pipe.Close()
		return nil
	default:
	}
	remote.Lose(ErrCoordinatorLost)
	t := time.NewTimer(cfg.LifelineGrace)
	select {
	case <-remote.BodyDone():
	case <-t.C:
	}
	os.Exit(cfg.LifelineCode)
	return nil
}
