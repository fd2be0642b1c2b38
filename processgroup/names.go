package processgroup

import (
	"fmt"
	"strings"

	"github.com/muster-go/muster/fence"
)

// ReservedPrefix starts the names muster keeps for itself; user-chosen
// group, barrier and member names must not start with it.
const ReservedPrefix = "muster."

// maxNameLen bounds names so that they fit a frame header later.
const maxNameLen = 256

// checkName returns an error wrapping fence.ErrInvalidName for an empty,
// over-long or reserved name; kind says what the name is for.
func checkName(kind, name string) error {
	switch {
	case name == "":
		return fmt.Errorf("processgroup: empty %s name: %w", kind, fence.ErrInvalidName)
	case len(name) > maxNameLen:
		return fmt.Errorf("processgroup: %s name longer than %d bytes: %w", kind, maxNameLen, fence.ErrInvalidName)
	case strings.HasPrefix(name, ReservedPrefix):
		return fmt.Errorf("processgroup: %s name %q uses the reserved prefix %q: %w", kind, name, ReservedPrefix, fence.ErrInvalidName)
	}
	return nil
}
