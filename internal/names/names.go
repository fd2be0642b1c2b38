// Package names holds what muster's packages share about names: the
// reserved prefix, the length bound, and how a name is quoted in an error.
package names

import (
	"fmt"
	"strings"
)

// ReservedPrefix starts the names muster keeps for itself.
const ReservedPrefix = "muster."

// MaxLen bounds group, barrier and member names, so that they fit a frame
// header.
const MaxLen = 256

// quoteLen is how much of a name an error message quotes.
const quoteLen = 64

// Quote returns name quoted for an error message, cut to its first bytes
// when it is long, so that a huge name never makes a huge error.
func Quote(name string) string {
	if len(name) <= quoteLen {
		return fmt.Sprintf("%q", name)
	}
	return fmt.Sprintf("%q… (%d bytes)", cut(name), len(name))
}

// Short returns name unquoted, or its first bytes and its length when it is
// long.
func Short(name string) string {
	if len(name) <= quoteLen {
		return name
	}
	return fmt.Sprintf("%s… (%d bytes)", cut(name), len(name))
}

// cut returns the first quoteLen bytes of name without a split rune.
func cut(name string) string { return strings.ToValidUTF8(name[:quoteLen], "") }
