package redisgroup

import (
	"context"
	"crypto/sha1"
	"embed"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// lua holds the group's steps: each runs as one atomic step on the server,
// after the shared prelude. Their comments state their arguments and replies.
//
//go:embed lua/*.lua
var lua embed.FS

// stepNames are the steps, each in lua/<name>.lua.
var stepNames = []string{"register", "join", "leave", "depart", "heartbeat", "check",
	"send", "publish", "progress", "arrive", "outbound", "lags", "diagnose",
	"dispatch", "reclaim", "ack", "probe"}

// step is one of the group's steps: a function of the group's library, and
// the same step as a script, for a server that cannot run the library.
type step struct {
	fn     string
	script *redis.Script
}

// scripts are the group's steps, bound to its base key and TTL. They run as
// functions of one library (FCALL): the prelude then runs once, when the
// library is loaded, instead of before every step, which makes a step
// several µs cheaper. The library is named after a hash of its code, so
// that coordinators of different releases on one server each call their
// own. On a server without functions (Redis before 7.0), or for a user
// not permitted to load or call them, the steps run as scripts (EVALSHA).
type scripts struct {
	rdb       redis.UniversalClient
	base      []string
	ttl       string
	library   string // the library's code
	functions bool   // run the steps as functions; set by load, before any step runs

	register, join, leave, depart, heartbeat, check,
	send, publish, progress, arrive, outbound, lags, diagnose,
	dispatch, reclaim, ack, probe *step
}

func newScripts(rdb redis.UniversalClient, base string, ttl time.Duration) *scripts {
	prelude := string(must(lua.ReadFile("lua/prelude.lua")))
	bodies := make(map[string]string, len(stepNames))
	for _, name := range stepNames {
		bodies[name] = string(must(lua.ReadFile("lua/" + name + ".lua")))
	}
	lib := libraryName(prelude, bodies)
	var code strings.Builder
	code.WriteString("#!lua name=" + lib + "\n" + prelude + "\n")
	steps := make(map[string]*step, len(stepNames))
	for _, name := range stepNames {
		fn := lib + "_" + name
		code.WriteString("redis.register_function('" + fn + "', function(KEYS, ARGV)\nbind(KEYS, ARGV)\n" + bodies[name] + "\nend)\n")
		steps[name] = &step{fn: fn, script: redis.NewScript(prelude + "\nbind(KEYS, ARGV)\n" + bodies[name])}
	}
	return &scripts{
		rdb: rdb, base: []string{base}, ttl: strconv.FormatInt(ttl.Milliseconds(), 10), library: code.String(),
		register: steps["register"], join: steps["join"], leave: steps["leave"],
		depart: steps["depart"], heartbeat: steps["heartbeat"], check: steps["check"],
		send: steps["send"], publish: steps["publish"], progress: steps["progress"], arrive: steps["arrive"],
		outbound: steps["outbound"], lags: steps["lags"], diagnose: steps["diagnose"],
		dispatch: steps["dispatch"], reclaim: steps["reclaim"], ack: steps["ack"], probe: steps["probe"],
	}
}

// libraryName names the library after a hash of its code.
func libraryName(prelude string, bodies map[string]string) string {
	h := sha1.New()
	h.Write([]byte(prelude))
	for _, name := range stepNames {
		h.Write([]byte("\x00" + name + "\x00" + bodies[name]))
	}
	return "muster_" + hex.EncodeToString(h.Sum(nil)[:8])
}

// load loads the library and calls its probe, under ctx. When the server
// refuses either as unknown or not permitted, the steps run as scripts
// instead; any other error is returned. Call it once, before any step.
func (sc *scripts) load(ctx context.Context) error {
	err := sc.loadLibrary(ctx)
	if err == nil {
		err = sc.rdb.FCall(ctx, sc.probe.fn, sc.base, sc.ttl).Err()
	}
	switch {
	case err == nil:
		sc.functions = true
		return nil
	case refused(err):
		return sc.probe.script.Run(ctx, sc.rdb, sc.base, sc.ttl).Err()
	default:
		return err
	}
}

// loadLibrary loads the library on the server (on every primary of a
// cluster). A library of the same name is the same code: finding one
// loaded is success.
func (sc *scripts) loadLibrary(ctx context.Context) error {
	if cc, ok := sc.rdb.(*redis.ClusterClient); ok {
		return cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error { return sc.loadOn(ctx, c) })
	}
	return sc.loadOn(ctx, sc.rdb)
}

func (sc *scripts) loadOn(ctx context.Context, c redis.Cmdable) error {
	err := c.FunctionLoad(ctx, sc.library).Err()
	if err != nil && strings.Contains(err.Error(), "already exists") {
		return nil
	}
	return err
}

// refused reports whether err is the server's refusal of a command it does
// not know or the user may not run.
func refused(err error) bool {
	var re redis.Error
	if !errors.As(err, &re) {
		return false
	}
	msg := err.Error()
	return strings.HasPrefix(msg, "NOPERM") || strings.HasPrefix(msg, "ERR unknown command")
}

// run runs step s with the TTL as its first argument. A server that lost
// the library (a restart, a failover to a server without it) gets it again,
// and the step then runs; one that now refuses functions (a failover to an
// older server, a user whose permissions changed) runs the step as a
// script. Either is safe: a step the server could not find or refused did
// not run.
func (sc *scripts) run(ctx context.Context, s *step, args ...any) *redis.Cmd {
	args = append([]any{sc.ttl}, args...)
	if !sc.functions {
		return s.script.Run(ctx, sc.rdb, sc.base, args...)
	}
	cmd := sc.rdb.FCall(ctx, s.fn, sc.base, args...)
	switch err := cmd.Err(); {
	case err == nil:
	case strings.HasPrefix(err.Error(), "ERR Function not found"):
		if sc.loadLibrary(ctx) == nil {
			cmd = sc.rdb.FCall(ctx, s.fn, sc.base, args...)
		}
	case refused(err):
		cmd = s.script.Run(ctx, sc.rdb, sc.base, args...)
	}
	return cmd
}

// must returns v; the embedded files are part of the binary, so reading
// them cannot fail at run time.
func must(v []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return v
}
