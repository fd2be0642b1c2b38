package processgroup

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/muster-go/muster/fence"
)

// childEnv is the environment variable through which a coordinator tells a
// child process what it is; ServeChild reads and removes it.
const childEnv = "MUSTER_CHILD"

// childFD is the file descriptor the child reads its connection from: the
// first of exec.Cmd.ExtraFiles; it writes to the next one.
const childFD = 3

// childConfig is what childEnv holds.
type childConfig struct {
	Version       int            `json:"v"`
	FD            uintptr        `json:"fd"`  // what the child reads
	OutFD         uintptr        `json:"out"` // what it writes
	Role          string         `json:"role"`
	Codec         string         `json:"codec"` // the name of the coordinator's codec
	Member        fence.Identity `json:"member"`
	FrameLimit    int            `json:"limit"`
	LifelineGrace time.Duration  `json:"grace"`
	LifelineCode  int            `json:"code"`
}

// childVersion is the protocol both ends must speak.
const childVersion = 4

func (cfg childConfig) env() string {
	b, err := json.Marshal(cfg)
	if err != nil {
		panic(fmt.Sprintf("processgroup: child configuration does not encode: %v", err)) // plain data
	}
	return childEnv + "=" + string(b)
}

func parseChildConfig(s string) (childConfig, error) {
	var cfg childConfig
	if err := json.Unmarshal([]byte(s), &cfg); err != nil {
		return cfg, fmt.Errorf("processgroup: %s does not decode: %v: %w", childEnv, err, fence.ErrInvalidArgument)
	}
	if cfg.Version != childVersion {
		return cfg, fmt.Errorf("processgroup: %s: protocol version %d, this program speaks %d: %w",
			childEnv, cfg.Version, childVersion, fence.ErrInvalidArgument)
	}
	return cfg, nil
}
