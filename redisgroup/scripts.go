package redisgroup

import (
	"context"
	"embed"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// lua holds the group's scripts: each runs as one atomic step on the server,
// after the shared prelude. Their comments state their arguments and replies.
//
//go:embed lua/*.lua
var lua embed.FS

// scripts are the group's Lua scripts, bound to its base key and TTL.
type scripts struct {
	rdb  redis.UniversalClient
	base []string
	ttl  string

	register, join, leave, depart, heartbeat, check,
	send, publish, progress, arrive, outbound, lags, diagnose,
	dispatch, reclaim, ack *redis.Script
}

func newScripts(rdb redis.UniversalClient, base string, ttl time.Duration) *scripts {
	prelude := must(lua.ReadFile("lua/prelude.lua"))
	load := func(name string) *redis.Script {
		return redis.NewScript(string(prelude) + "\n" + string(must(lua.ReadFile("lua/"+name+".lua"))))
	}
	return &scripts{
		rdb: rdb, base: []string{base}, ttl: strconv.FormatInt(ttl.Milliseconds(), 10),
		register: load("register"), join: load("join"), leave: load("leave"),
		depart: load("depart"), heartbeat: load("heartbeat"), check: load("check"),
		send: load("send"), publish: load("publish"), progress: load("progress"), arrive: load("arrive"),
		outbound: load("outbound"), lags: load("lags"), diagnose: load("diagnose"),
		dispatch: load("dispatch"), reclaim: load("reclaim"), ack: load("ack"),
	}
}

// run runs s with the TTL as its first argument.
func (sc *scripts) run(ctx context.Context, s *redis.Script, args ...any) *redis.Cmd {
	return s.Run(ctx, sc.rdb, sc.base, append([]any{sc.ttl}, args...)...)
}

// must returns v; the embedded files are part of the binary, so reading
// them cannot fail at run time.
func must(v []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return v
}
