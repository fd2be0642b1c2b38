package redisgroup

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/managedprocess"
	"github.com/muster-go/muster/processgroup"
)

// Defaults for the zero fields of a Config.
const (
	DefaultPrefix    = "muster"
	DefaultHeartbeat = 2 * time.Second
	DefaultKeyTTL    = 24 * time.Hour
)

// Config describes the Redis-backed group a Coordinator serves members of.
// Every process whose coordinator has the same Client server, Prefix and
// Group serves members of one group. Zero fields take the documented
// defaults.
type Config[T any] struct {
	// Client reaches the Redis server; required. Each member holds one of
	// its connections while it waits for messages, and the coordinator
	// one more, so its pool (redis.Options.PoolSize) needs at least the
	// number of members plus one, and more for concurrent calls. The
	// coordinator never closes it.
	Client redis.UniversalClient
	// Prefix starts every key the group writes (DefaultPrefix), so that
	// deployments, or test runs, sharing a server never collide.
	Prefix string
	// Group names the group; required. It must not contain '{' or '}':
	// every key of the group holds it as its Redis Cluster hash tag.
	Group string
	// Codec encodes messages (managedprocess.JSON when nil). The group's
	// first member fixes its codec's Name: Spawn on a coordinator whose
	// codec has another is refused with fence.ErrInvalidArgument.
	Codec managedprocess.Codec[T]
	// Window is the default window of a member (processgroup.DefaultWindow
	// when 0): the messages one sender may have queued at it unhandled.
	Window int
	// Heartbeat is how long a member's heartbeat key lives without being
	// renewed (DefaultHeartbeat). A coordinator renews its members' keys
	// every Heartbeat/4, and a member whose key expired is departed as
	// crashed (ErrHeartbeatLapsed) by the next coordinator that checks:
	// one with a member waiting, every Heartbeat/4.
	Heartbeat time.Duration
	// KeyTTL is the time to live of the group's keys (DefaultKeyTTL):
	// writes and heartbeats renew it, so a group nobody uses for that long
	// is gone.
	KeyTTL time.Duration
	// CompleteForSurvivors makes a round complete for the other members
	// when one fails, as processgroup.CompleteForSurvivors does. The
	// first coordinator of a group decides; one whose setting differs is
	// refused.
	CompleteForSurvivors bool
	// Logger receives what the coordinator cannot return to a caller
	// (slog.Default when nil).
	Logger *slog.Logger
}

func (cfg Config[T]) withDefaults() (Config[T], error) {
	if cfg.Client == nil {
		return cfg, fmt.Errorf("%w: redisgroup: Config.Client is nil", fence.ErrInvalidArgument)
	}
	if cfg.Group == "" || strings.ContainsAny(cfg.Group, "{}") || strings.ContainsAny(cfg.Prefix, "{}") {
		return cfg, fmt.Errorf("%w: redisgroup: group %q and prefix %q must be non-empty and free of '{' and '}'",
			fence.ErrInvalidName, cfg.Group, cfg.Prefix)
	}
	if cfg.Window < 0 || cfg.Heartbeat < 0 || cfg.KeyTTL < 0 {
		return cfg, fmt.Errorf("%w: redisgroup: negative Window, Heartbeat or KeyTTL", fence.ErrInvalidArgument)
	}
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	if cfg.Codec == nil {
		cfg.Codec = managedprocess.JSON[T]()
	}
	if cfg.Window == 0 {
		cfg.Window = processgroup.DefaultWindow
	}
	if cfg.Heartbeat == 0 {
		cfg.Heartbeat = DefaultHeartbeat
	}
	if cfg.KeyTTL == 0 {
		cfg.KeyTTL = DefaultKeyTTL
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return cfg, nil
}

// base is the prefix of every key of the group.
func (cfg Config[T]) base() string { return cfg.Prefix + ":{" + cfg.Group + "}" }
