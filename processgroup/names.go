package processgroup

import (
	"fmt"
	"strings"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/internal/names"
)

// ReservedPrefix starts the names muster keeps for itself; user-chosen
// group, barrier and member names must not start with it.
const ReservedPrefix = names.ReservedPrefix

// checkName returns an error wrapping fence.ErrInvalidName for an empty,
// over-long or reserved name; kind says what the name is for.
func checkName(kind, name string) error {
	switch {
	case name == "":
		return fmt.Errorf("processgroup: empty %s name: %w", kind, fence.ErrInvalidName)
	case len(name) > names.MaxLen:
		return fmt.Errorf("processgroup: %s name %s longer than %d bytes: %w", kind, names.Quote(name), names.MaxLen, fence.ErrInvalidName)
	case strings.HasPrefix(name, ReservedPrefix):
		return fmt.Errorf("processgroup: %s name %q uses the reserved prefix %q: %w", kind, name, ReservedPrefix, fence.ErrInvalidName)
	}
	return nil
}
