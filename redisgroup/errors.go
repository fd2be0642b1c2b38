package redisgroup

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/muster-go/muster/fence"
)

var (
	// ErrHeartbeatLapsed is the cause of a member whose heartbeat key
	// expired: its process stopped, froze or lost Redis for longer than
	// Config.Heartbeat. It wraps fence.ErrCrashed.
	ErrHeartbeatLapsed = fmt.Errorf("%w: redisgroup: heartbeat lapsed", fence.ErrCrashed)
	// ErrStateLost: Redis no longer holds the group's state for a round or
	// a member (the server restarted without persistence, failed over to a
	// replica that had not seen it, or the keys expired). A round that
	// ends with it did not complete.
	ErrStateLost = errors.New("redisgroup: Redis lost the group's state")
	// ErrRedis wraps an error talking to Redis, once go-redis's own retries
	// failed too. See the package doc's Retries for what a failed call did.
	ErrRedis = errors.New("redisgroup: Redis")
)

// cause is a departure cause as the group stores it.
type cause struct {
	ID   uint64 `json:"id"`
	Name string `json:"name"`
	Kind string `json:"kind"`
	Msg  string `json:"msg"`
}

// Cause kinds.
const (
	kindExit   = "exit"   // the run function returned (an error, when a failure)
	kindCrash  = "crash"  // a panic or runtime.Goexit
	kindLapse  = "lapse"  // the heartbeat lapsed
	kindClosed = "closed" // the coordinator closed
	kindLost   = "lost"   // Redis lost the member
)

func decodeCause(s string) (fence.Identity, error) {
	var c cause
	if s == "" || json.Unmarshal([]byte(s), &c) != nil {
		return fence.Identity{}, ErrStateLost
	}
	return fence.Identity{Name: c.Name, ID: c.ID}, c.err()
}

// err returns the cause as an error that matches the sentinel of its kind.
func (c cause) err() error {
	switch c.Kind {
	case kindExit:
		if c.Msg == "" {
			return fence.ErrExited
		}
		return fmt.Errorf("%w: %s", fence.ErrExited, c.Msg)
	case kindCrash:
		return fmt.Errorf("%w: %s", fence.ErrCrashed, c.Msg)
	case kindLapse:
		return ErrHeartbeatLapsed
	case kindClosed:
		return fence.ErrClosed
	default:
		return ErrStateLost
	}
}

// kindOf returns the kind and message a departure with err stores.
func kindOf(err error) (kind, msg string) {
	switch {
	case errors.Is(err, fence.ErrClosed):
		return kindClosed, ""
	case errors.Is(err, fence.ErrCrashed):
		return kindCrash, err.Error()
	case errors.Is(err, ErrStateLost):
		return kindLost, ""
	case err == fence.ErrExited:
		return kindExit, ""
	default:
		return kindExit, err.Error()
	}
}

func redisErr(op string, err error) error { return fmt.Errorf("%w: %s: %w", ErrRedis, op, err) }
