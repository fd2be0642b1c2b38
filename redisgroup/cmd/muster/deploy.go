package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/muster-go/muster/internal/repro"
)

// deployment is a run across processes: the group, what each child process
// serves, and this process's own members.
type deployment[T any] struct {
	group groupConf
	parts []part // one per child process
	local int    // members this process serves
	// spawn spawns this process's members into the cast.
	spawn func(ctx context.Context, g proc[T]) error
}

// deployed is what a run across processes reports besides its error.
type deployed struct {
	sent int // what the children's repro workers sent, as they reported
	// stuck is, for a run that failed or did not finish, where the members
	// were when they were stopped: their barrier errors.
	stuck []error
}

// deploy runs d: it spawns this process's members, starts the child
// processes and waits until each has spawned its own, starts every member's
// body together, and waits until all have reported, the first failure or
// the end of ctx (its error then wraps repro.ErrNotFinished, which
// repro.Judge tells from other failures, and ctx's cause).
// When it returns, the child processes have exited, this process's
// coordinator is closed and the run's keys are deleted.
func deploy[T any](ctx context.Context, d deployment[T], stderr io.Writer) (res deployed, err error) {
	rdb, c, err := connect[T](ctx, d.group, d.local, logger(stderr, 0))
	if err != nil {
		return res, err
	}
	k := newCast(d.local)
	f := newFleet()
	defer func() {
		late, exits := f.shutdown()
		res.stuck = append(res.stuck, late...)
		res.sent = f.sent
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), closeGrace)
		defer cancel()
		cerr := c.Close(cctx)
		ferr := forgetRun(cctx, rdb, d.group)
		_ = rdb.Close()
		if err == nil {
			err = errors.Join(cerr, errors.Join(exits...))
		}
		if ferr != nil {
			fmt.Fprintf(stderr, "muster: deleting the run's keys (prefix %s): %v\n", d.group.Prefix, ferr)
		}
	}()
	if err := d.spawn(ctx, proc[T]{c: c, rdb: rdb, k: k}); err != nil {
		return res, err
	}
	if err := f.start(d.parts, stderr); err != nil {
		return res, err
	}
	if err := f.awaitReady(ctx); err != nil {
		return res, err
	}
	if err := f.broadcast(lineGo); err != nil {
		return res, err
	}
	k.begin()
	return await(ctx, k, f)
}

// await waits until this process's members and every child reported, the
// first failure, or the end of ctx; then it stops the members still
// running, the children through their stdin and the local ones through the
// cast, and keeps the local ones' reports.
func await(ctx context.Context, k *cast, f *fleet) (res deployed, err error) {
	local, remote := k.n, len(f.kids)
	fail := func(err error) (deployed, error) {
		f.quit()
		res.stuck = k.halt(err, local)
		return res, err
	}
	for local+remote > 0 {
		select {
		case err := <-k.results:
			local--
			if err != nil {
				return fail(err)
			}
		case e := <-f.events:
			if e.exit {
				return fail(exitedBefore(e, "reported"))
			}
			rep, ok, err := f.take(e)
			switch {
			case err != nil:
				return fail(err)
			case !ok:
				continue
			}
			remote--
			if rep.Err != "" {
				return fail(fmt.Errorf("process %d: %s", e.proc, rep.Err))
			}
		case <-ctx.Done():
			return fail(fmt.Errorf("%w: %w", repro.ErrNotFinished, context.Cause(ctx)))
		}
	}
	return res, nil
}

// logger is where process proc's coordinator logs what it cannot return.
func logger(w io.Writer, proc int) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, nil)).With("process", proc)
}
