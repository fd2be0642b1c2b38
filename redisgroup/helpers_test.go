package redisgroup_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/muster-go/muster/redisgroup/internal/redisserver"
)

// dump prints every key of the server, for a failing test.
func dump(t *testing.T, srv *redisserver.Server) {
	c := srv.Client(t, 1)
	ctx := context.Background()
	keys, _ := c.Keys(ctx, "*").Result()
	for _, k := range keys {
		typ, _ := c.Type(ctx, k).Result()
		var v any
		switch typ {
		case "hash":
			v, _ = c.HGetAll(ctx, k).Result()
		case "set":
			v, _ = c.SMembers(ctx, k).Result()
		case "string":
			v, _ = c.Get(ctx, k).Result()
		case "stream":
			v, _ = c.XLen(ctx, k).Result()
		case "zset":
			v, _ = c.ZRangeWithScores(ctx, k, 0, -1).Result()
		}
		fmt.Println(k, typ, v)
	}
}
