package managedprocess_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/managedprocess"
	"github.com/muster-go/muster/watcher"
)

// directory is a map-backed managedprocess.Directory.
type directory[T any] struct {
	mu      sync.Mutex
	members map[string]*managedprocess.Member[T]
}

func (d *directory[T]) Lookup(name string) (*managedprocess.Member[T], error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if m := d.members[name]; m != nil {
		return m, nil
	}
	return nil, fmt.Errorf("test: %q: %w", name, fence.ErrUnknownMember)
}

func (d *directory[T]) GroupMembers(group string, dst []*managedprocess.Member[T]) ([]*managedprocess.Member[T], error) {
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

// notifier counts crossings.
type notifier struct{ n atomic.Int64 }

func (n *notifier) Notify(watcher.Counter) { n.n.Add(1) }

// world is a set of started members sharing a directory; Close stops them
// and waits for their readers.
type world[T any] struct {
	t      testing.TB
	dir    *directory[T]
	notify *notifier
	ctx    context.Context
	cancel context.CancelFunc
	// crashes receives handler panics; a test that expects none fails if
	// one arrives (checked at cleanup).
	crashes       chan error
	expectCrashes bool
}

func newWorld[T any](t testing.TB) *world[T] {
	ctx, cancel := context.WithCancel(context.Background())
	w := &world[T]{t: t, dir: &directory[T]{members: map[string]*managedprocess.Member[T]{}}, notify: &notifier{}, ctx: ctx, cancel: cancel, crashes: make(chan error, 16)}
	t.Cleanup(w.close)
	return w
}

func (w *world[T]) add(name string, capacity int, h managedprocess.Handler[T]) *managedprocess.Member[T] {
	m := w.addStopped(name, capacity, h)
	m.Start(w.ctx)
	return m
}

func (w *world[T]) addStopped(name string, capacity int, h managedprocess.Handler[T]) *managedprocess.Member[T] {
	w.dir.mu.Lock()
	defer w.dir.mu.Unlock()
	id := fence.Identity{Name: name, ID: uint64(len(w.dir.members) + 1)}
	m := managedprocess.New(managedprocess.Config[T]{
		ID: id, Handler: h, Directory: w.dir, Notifier: w.notify, InboxCapacity: capacity,
		OnCrash: func(m *managedprocess.Member[T], perr error) {
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
