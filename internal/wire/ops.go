// Package wire is the boundary between a member and its coordinator as
// frames: every operation a member makes on its coordinator, and every one
// the coordinator makes on a member, is a Frame of one Op, with member
// identities and values only — never a pointer into the other side. Frames
// cross a Pipe as bytes (see Encode and Decode), or a SocketPipe through a
// Unix socket pair, length-prefixed and size-limited (see AppendFramed and
// ReadFramed).
//
// The operations, by direction:
//
//	member → coordinator              coordinator → member
//	post (recipient, payloads, "from  deliver (sender, sequence,
//	     a handler"): sends           payloads)
//	call resolve / credit / publish   reply (a call's result or error)
//	call arrive / barrier / wait      (released: the reply of a barrier or wait)
//	call join / leave                 start (run the member's body)
//	call local / outbound fence       depart (the member's context ends, cause)
//	call snapshot / err               done (the member's inbox is drained)
//	cancel (a call's context ended)   close (the connection ends)
//	revoked (a link forgotten)        arm (report progress at a count)
//	                                  revoke (a link's recipient departed)
//	handled (progress: the handlers and post-handler work of the first
//	     Count messages delivered returned) / crashed (the Count-th's
//	     panicked or called Goexit)
//	exit (the body returned, panicked or called Goexit)
//
// Sends do not wait for the coordinator: a member side resolves a recipient
// once, then posts its messages to it within the credit the coordinator
// granted on the link — the room in the recipient's window — and asks for
// more only once that is spent (see send in credit.go). A post or a
// delivery carries a run of messages (see AppendMessage): the messages a
// busy sender queued one after the other for one recipient, or a busy
// coordinator for one member from one sender, travel in one frame. The coordinator
// applies a post as it reads it, so a message is queued at its recipient
// before any later frame of its sender is taken: a later call, a progress
// report, another post.
//
// Deliveries do not wait for each other: the coordinator sends each message
// (or run) as its member's reader takes it, and the member side reports its progress in batches — one
// handled frame for the messages it took from its queue together, and at
// least one per ReportEvery messages — never one per message while messages
// queue up. Someone waiting on the coordinator's side for a message handled
// (a barrier's drain target, a sender waiting for room, a local fence) arms
// the member side at that message's count: it reports as soon as its
// handlers passed it (at once if they had), so a handler stuck on a later
// message of the batch does not hide the progress; both sides store before
// they load, as the counters in process do. A message counts as consumed
// only once reported, so senders' windows bound what is queued on the
// member side too. A member that departs
// dropping what is queued (it crashed, or the coordinator closed) is told
// so with its depart; it then handles nothing more and reports, once its
// current handler returned and for every delivery that comes later, how many
// it handled, with Drop set: the coordinator counts the rest dropped.
package wire

import (
	"context"
	"encoding/json"
	"time"

	"github.com/muster-go/muster/fence"
)

// Op is a frame's operation.
type Op uint8

// The operations a member makes.
const (
	OpPublish       Op = iota + 1 // Group, Body, Handler
	OpArrive                      // Group, Barrier, Mode, Handler; the reply carries Arrival and Round
	OpBarrier                     // Group, Barrier, Mode, Handler; the reply carries Result
	OpWait                        // Arrival, Handler; the reply carries Result
	OpJoin                        // Group
	OpLeave                       // Group
	OpLocalFence                  // Handler
	OpOutboundFence               // Handler
	OpSnapshot                    // the reply carries State
	OpErr                         // the reply carries Err
	OpCancel                      // Call: the context of that call ended with Err
	OpHandled                     // the first Count messages delivered were handled
	OpCrashed                     // the handler of the Count-th panicked (Panic) or called Goexit (Goexit)
	OpExit                        // the body returned Err, panicked (Panic) or called Goexit; NoBody: there is none
	OpResolve                     // Name or To; the reply carries To and the link's credit limit (Count)
	OpCredit                      // To, Try; the reply comes once the window has room and carries the credit limit (Count)
	OpPost                        // To, Count messages in Body (a run), Handler: sends within credit (or a handler's); no reply
	OpRevoked                     // To: the member side forgot the link the coordinator revoked
	OpUndecodable                 // From, Seq, Err: that delivery does not decode; its handler does not run, and it counts as handled
)

// The operations the coordinator makes.
const (
	OpDeliver Op = iota + 64 // From, Count messages in Body (a run), the first of them Seq, the next Seq+1, and so on
	OpReply                  // Call, Err and the call's result
	OpStart                  // run the member's body
	OpDepart                 // Err: the member's context ends with this cause; Drop: it handles nothing more
	OpDone                   // the member departed and its inbox is drained
	OpClose                  // Err, State: the connection ends; later calls fail with Err, Snapshot returns State
	OpArm                    // report handled as soon as Count messages were (at once if they were)
	OpRevoke                 // To, Err: the link to To is gone (its recipient departed); answer Revoked
)

// Frame is one operation. Calls carry a Call number, unique per member, that
// their reply repeats; a call whose context has a deadline carries it.
type Frame struct {
	Op       Op              `json:"op"`
	Call     uint64          `json:"call,omitempty"`
	Deadline time.Time       `json:"deadline,omitzero"`
	Handler  bool            `json:"handler,omitempty"` // made with the member's handler context
	Foreign  bool            `json:"foreign,omitempty"` // made with another member's handler context
	Name     string          `json:"name,omitempty"`    // a recipient's name
	To       *fence.Identity `json:"to,omitempty"`      // a recipient's identity
	Group    string          `json:"group,omitempty"`
	Barrier  string          `json:"barrier,omitempty"`
	Mode     fence.Mode      `json:"mode,omitempty"`
	Arrival  uint64          `json:"arrival,omitempty"`
	Round    uint64          `json:"round,omitempty"`
	From     fence.Identity  `json:"from,omitzero"`
	Seq      uint64          `json:"seq,omitempty"`
	Body     []byte          `json:"body,omitempty"` // a message, as the codec encoded it; a post's or delivery's run of them
	Err      *Error          `json:"err,omitempty"`
	Panic    *Panic          `json:"panic,omitempty"`
	Goexit   bool            `json:"goexit,omitempty"`
	NoBody   bool            `json:"nobody,omitempty"` // an exit: the member has no body; it serves until it departs
	Count    uint64          `json:"count,omitempty"`  // handled: messages handled so far; crashed: the one that crashed; a credit limit; the messages of a run
	Try      bool            `json:"try,omitempty"`    // credit: fail with fence.ErrWouldBlock instead of waiting
	Drop     bool            `json:"drop,omitempty"`   // depart: drop what is queued; handled: the rest were dropped
	Result   *Result         `json:"result,omitempty"`
	State    *State          `json:"state,omitempty"`
}

// Encode returns f as bytes: compact for the operations that have a
// compact encoding (see appendCompact), JSON for the others.
func Encode(f *Frame) ([]byte, error) {
	if b, ok := appendCompact(nil, f); ok {
		return b, nil
	}
	return json.Marshal(f)
}

// Decode returns the frame b holds. A payload in it may be a part of b.
func Decode(b []byte) (*Frame, error) {
	if len(b) > 0 && b[0] == compactTag {
		return decodeCompact(b)
	}
	f := new(Frame)
	if err := json.Unmarshal(b, f); err != nil {
		return nil, err
	}
	return f, nil
}

// loopbackKey marks a context whose Spawn calls put members behind a wire.
type loopbackKey struct{}

// Placement says which members a coordinator's Spawn puts behind a loopback
// wire, and over what: their handler and run function run on the member side
// and reach the coordinator only through frames, on a pair of Pipes or, with
// Socket, of SocketPipes (through the kernel, length-prefixed). Tests use it
// to run their suites through the boundary.
type Placement struct {
	Behind func(fence.Identity) bool // nil: none
	Socket bool
}

// WithLoopback returns ctx with which Spawn places members as p says.
func WithLoopback(ctx context.Context, p Placement) context.Context {
	return context.WithValue(ctx, loopbackKey{}, p)
}

// Loopback returns what WithLoopback stored in ctx: none behind by default.
func Loopback(ctx context.Context) Placement {
	p, _ := ctx.Value(loopbackKey{}).(Placement)
	return p
}
