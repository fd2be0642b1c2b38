package redisgroup_test

import (
	"context"

	"github.com/muster-go/muster/managedprocess"
)

// benchRoles are the roles of the benchmarks' member processes.
var benchRoles = map[string]func(ctx context.Context, m managedprocess.Member[int], group string, arg int) error{}
