package member

import (
	"context"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/managedprocess"
)

// Barrier implements managedprocess.Member.Barrier through the coordinator.
func (m *Member[T]) Barrier(ctx context.Context, group, name string, mode fence.Mode) (fence.Result, error) {
	if m.coord == nil {
		return fence.Result{}, m.errorf("barrier %s: no coordinator: %w", name, fence.ErrUnknownGroup)
	}
	return m.coord.Barrier(ctx, m, group, name, mode)
}

// Arrive implements managedprocess.Member.Arrive through the coordinator.
func (m *Member[T]) Arrive(ctx context.Context, group, name string, mode fence.Mode) (managedprocess.Arrival, error) {
	if m.coord == nil {
		return nil, m.errorf("arrive %s: no coordinator: %w", name, fence.ErrUnknownGroup)
	}
	return m.coord.Arrive(ctx, m, group, name, mode)
}

// Join implements managedprocess.Member.Join through the coordinator.
func (m *Member[T]) Join(group string) error {
	if m.coord == nil {
		return m.errorf("join %s: no coordinator: %w", group, fence.ErrUnknownGroup)
	}
	return m.coord.Join(m, group)
}

// Leave implements managedprocess.Member.Leave through the coordinator.
func (m *Member[T]) Leave(group string) error {
	if m.coord == nil {
		return m.errorf("leave %s: no coordinator: %w", group, fence.ErrUnknownGroup)
	}
	return m.coord.Leave(m, group)
}

// A Member is what user code holds as a managedprocess.Member.
var _ managedprocess.Member[int] = (*Member[int])(nil)
