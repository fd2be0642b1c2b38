package wire

import (
	"bytes"

	"github.com/muster-go/muster/fence"
)

// ReadStream reads the frames of data as a connection's reader does,
// through a buffer of size bytes, until the first error, keeping each
// frame as a receive function must (a copy of it and of its Body); it
// returns the frames re-encoded, and that error.
func ReadStream(data []byte, size, limit int) ([][]byte, error) {
	r := newFrameReader(bytes.NewReader(data), size, limit)
	var kept []*Frame
	var err error
	for err == nil {
		var f *Frame
		if f, err = r.next(); err == nil {
			g := *f // the reader reuses f, its To and the room of its Body
			g.Body = bytes.Clone(f.Body)
			if f.To != nil {
				to := *f.To
				g.To = &to
			}
			kept = append(kept, &g)
		}
	}
	frames := make([][]byte, len(kept))
	for i, f := range kept {
		b, encErr := AppendFramed(nil, f)
		if encErr != nil {
			return frames, encErr
		}
		frames[i] = b
	}
	return frames, err
}

// PostSize is the length of the compact post of body to to.
func PostSize(to fence.Identity, body []byte) int { return postSize(to, body) }

// CallRoom bounds the fields of a publish's frame but its payload and group.
const CallRoom = callRoom
