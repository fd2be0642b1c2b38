package wire

import (
	"encoding/binary"
	"errors"
)

// A post or a deliver frame carries a run of messages: Count of them (at
// least one), all to one recipient (a post) or all from one sender with
// consecutive sequence numbers from Seq on (a delivery), packed in Body one
// after the other, each as an unsigned varint length and the payload. A
// queue extends the run that ends it with the next message of the same
// kind instead of framing that message alone, so a busy sender puts many
// messages into one frame, and each side pays the cost of a frame once per
// run, not once per message.

// AppendMessage appends body to run, a packed run of messages.
func AppendMessage(run, body []byte) []byte {
	return append(binary.AppendUvarint(run, uint64(len(body))), body...)
}

// messageSize is the length of body packed into a run.
func messageSize(body []byte) int { return uvarintSize(uint64(len(body))) + len(body) }

// NextMessage splits the first message off run, which a frame's check
// accepted: it returns that message's payload and the rest of the run.
func NextMessage(run []byte) (body, rest []byte) {
	n, k := binary.Uvarint(run)
	end := k + int(n)
	return run[k:end:end], run[end:]
}

// errRun is the error of a run whose messages are not what its count says.
var errRun = errors.New("a run of messages cut short, malformed, or not as many as its count")

// checkRun refuses run unless it is exactly count well-formed messages,
// count at least one.
func checkRun(run []byte, count uint64) error {
	if count == 0 {
		return errRun
	}
	for ; count > 0; count-- {
		n, k := binary.Uvarint(run)
		if k <= 0 || n > uint64(len(run)-k) {
			return errRun
		}
		run = run[k+int(n):]
	}
	if len(run) > 0 {
		return errRun
	}
	return nil
}

// countSize is the length of a run's count in a compact frame: a fixed
// width, so that a queue can raise it in place when it extends the run.
const countSize = 4

// maxRun bounds the frame of a run a queue extends: a run ends before a
// message would take its frame beyond maxRun bytes or the connection's
// frame limit, whichever is less. It is well inside a connection reader's
// buffer, so that the reader decodes a run where it lies.
const maxRun = 8 << 10
