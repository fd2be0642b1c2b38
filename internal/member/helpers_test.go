package member_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/internal/member"
	"github.com/muster-go/muster/managedprocess"
	"github.com/muster-go/muster/watcher"
)

// directory is a map-backed member.Coordinator without groups.
type directory[T any] struct {
	mu        sync.Mutex
	members   map[string]*member.Member[T]
	crossings atomic.Int64
}

func (d *directory[T]) Lookup(name string) (*member.Member[T], error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if m := d.members[name]; m != nil {
		return m, nil
	}
	return nil, fmt.Errorf("test: %q: %w", name, fence.ErrUnknownMember)
}

func (d *directory[T]) GroupMembers(group string, dst []*member.Member[T]) ([]*member.Member[T], error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if group != "all" {
		return dst, fmt.Errorf("test: %q: %w", group, fence.ErrUnknownGroup)
	}
	for _, m := range d.members {
		dst = append(dst, m)
	}
	return dst, nil
}

func (d *directory[T]) Resolve(id fence.Identity) (*member.Member[T], error) {
	m, err := d.Lookup(id.Name)
	if err == nil && m.ID() != id {
		return nil, fmt.Errorf("test: %v: %w", id, fence.ErrUnknownMember)
	}
	return m, err
}

var errNoGroups = errors.New("test: no groups here")

func (d *directory[T]) Arrive(context.Context, *member.Member[T], string, string, fence.Mode) (managedprocess.Arrival, error) {
	return nil, errNoGroups
}

func (d *directory[T]) Barrier(context.Context, *member.Member[T], string, string, fence.Mode) (fence.Result, error) {
	return fence.Result{}, errNoGroups
}

func (d *directory[T]) Join(*member.Member[T], string) error  { return errNoGroups }
func (d *directory[T]) Leave(*member.Member[T], string) error { return errNoGroups }

func (d *directory[T]) AwaitTargets(context.Context, []member.Target) error { return errNoGroups }

// Notify counts crossings.
func (d *directory[T]) Notify(watcher.Counter) { d.crossings.Add(1) }

// world is a set of started members sharing a directory; Close stops them
// and waits for their readers.
type world[T any] struct {
	t      testing.TB
	dir    *directory[T]
	ctx    context.Context
	cancel context.CancelFunc
	// crashes receives handler panics; a test that expects none fails if
	// one arrives (checked at cleanup).
	crashes       chan error
	expectCrashes bool
}

func newWorld[T any](t testing.TB) *world[T] {
	ctx, cancel := context.WithCancel(context.Background())
	w := &world[T]{t: t, dir: &directory[T]{members: map[string]*member.Member[T]{}}, ctx: ctx, cancel: cancel, crashes: make(chan error, 16)}
	t.Cleanup(w.close)
	return w
}

func (w *world[T]) add(name string, window int, h managedprocess.Handler[T]) *member.Member[T] {
	m := w.addStopped(name, window, h)
	m.Start(w.ctx)
	return m
}

func (w *world[T]) addStopped(name string, window int, h managedprocess.Handler[T]) *member.Member[T] {
	w.dir.mu.Lock()
	defer w.dir.mu.Unlock()
	id := fence.Identity{Name: name, ID: uint64(len(w.dir.members) + 1)}
	m := member.New(member.Config[T]{
		ID: id, Handler: h, Coordinator: w.dir, Window: window,
		OnCrash: func(m *member.Member[T], perr error) {
			select {
			case w.crashes <- perr:
			default:
			}
		},
	})
	w.dir.members[name] = m
	return m
}

func (w *world[T]) close() {
	if !w.expectCrashes {
		select {
		case err := <-w.crashes:
			w.t.Errorf("unexpected crash: %+v", err)
		default:
		}
	}
	w.cancel()
	w.dir.mu.Lock()
	defer w.dir.mu.Unlock()
	for _, m := range w.dir.members {
		m.Stop(fence.ErrClosed, true)
		m.Start(w.ctx) // a never-started member still needs its reader to finish
		within(w.t, m.Done())
	}
}

// within fails the test unless ch is closed or receives within 5 s.
func within[T any](t testing.TB, ch <-chan T) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatal("timed out")
	}
}

// gate is a channel the test opens to let handlers through.
type gate chan struct{}

func (g gate) open() { close(g) }
