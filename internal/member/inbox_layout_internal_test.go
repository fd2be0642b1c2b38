package member

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// TestInboxHotFieldsApart: the inbox fields that senders and the reader
// touch for every message or batch (sleeping, ready, mode) lie at least a
// cache line apart, whatever the inbox's alignment, and the padding that
// keeps them apart leaves the inbox in the 2 KiB size class.
func TestInboxHotFieldsApart(t *testing.T) {
	var ib inbox[[64]byte]
	const line = 64
	sleeping, ready, mode := unsafe.Offsetof(ib.sleeping), unsafe.Offsetof(ib.ready), unsafe.Offsetof(ib.mode)
	require.GreaterOrEqual(t, ready-sleeping, uintptr(line), "sleeping and ready")
	require.GreaterOrEqual(t, mode-ready, uintptr(line), "ready and mode")
	require.LessOrEqual(t, unsafe.Sizeof(ib), uintptr(2048))
}
