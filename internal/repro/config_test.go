package repro

import (
	"errors"
	"testing"
	"time"

	"github.com/muster-go/muster/fence"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDefaultConfigIsValid(t *testing.T) {
	cfg := DefaultConfig()
	require.NoError(t, cfg.Validate())
	assert.Equal(t, fence.DeliveryFence, cfg.Mode)
	assert.Equal(t, 2, cfg.Workers)
	assert.Equal(t, 8, cfg.Burst)
	assert.Equal(t, 1024, cfg.Messages())
	assert.Zero(t, cfg.Hops, "markers go straight to the consumer by default")
	assert.Equal(t, 3, cfg.Members())
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"zero workers", func(c *Config) { c.Workers = 0 }, "workers must be at least 1, got 0"},
		{"negative workers", func(c *Config) { c.Workers = -3 }, "workers must be at least 1, got -3"},
		{"zero iterations", func(c *Config) { c.Iterations = 0 }, "iterations must be at least 1, got 0"},
		{"zero burst", func(c *Config) { c.Burst = 0 }, "burst must be at least 1, got 0"},
		{"negative delay", func(c *Config) { c.HandlerDelay = -time.Millisecond }, "handler delay must not be negative, got -1ms"},
		{"negative hops", func(c *Config) { c.Hops = -1 }, "hops must not be negative, got -1"},
		{"too many hops", func(c *Config) { c.Hops = MaxHops + 1 }, "hops must be at most 64, got 65"},
		{"bad mode", func(c *Config) { c.Mode = fence.Mode(9) }, "mode mode(9) is not rendezvous, delivery or processing"},
		{"too many", func(c *Config) { c.Workers, c.Iterations, c.Burst = 1<<10, 1<<10, 1<<10 }, "must be at most"},
		{"overflow", func(c *Config) { c.Workers, c.Iterations, c.Burst = 1<<62, 4, 1 }, "must be at most"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tc.change(&cfg)
			err := cfg.Validate()
			require.Error(t, err)
			assert.True(t, errors.Is(err, ErrInvalidConfig), "%v does not wrap ErrInvalidConfig", err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	t.Run("zero delay and one of everything", func(t *testing.T) {
		cfg := Config{Mode: fence.Rendezvous, Workers: 1, Iterations: 1, Burst: 1}
		require.NoError(t, cfg.Validate())
	})
	t.Run("most hops", func(t *testing.T) {
		cfg := DefaultConfig()
		cfg.Hops = MaxHops
		require.NoError(t, cfg.Validate())
		assert.Equal(t, 1+2+64, cfg.Members())
	})
}

func TestMarkerString(t *testing.T) {
	assert.Equal(t, "w1/it3/seq5", Marker{Worker: 1, Iteration: 3, Seq: 5}.String())
	assert.Equal(t, "w1/it3/seq5", Marker{Worker: 1, Iteration: 3, Seq: 5, HopsLeft: 2}.String(), "hops left are not part of the identity")
	assert.Equal(t, "worker-2", WorkerName(2))
	assert.Equal(t, "relay-0", RelayName(0))
}
