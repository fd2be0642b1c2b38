// Package managedprocess is what a member of a muster process group sees:
// the Member it acts through (send, publish, barriers, membership, fences),
// the Messages its Handler receives, and the State a Snapshot shows. A
// coordinator (package processgroup) spawns members and implements Member.
//
// # Streams and progress
//
// Every message a member sends gets the next sequence number of its stream
// (1, 2, 3, …; Message.Seq); a Publish is one message, with one sequence
// number, addressed to many recipients. Each (sender, recipient) pair also
// numbers its own messages 1, 2, 3, …: the counts a Snapshot's StreamState
// shows and barrier targets (fence.Target) are in these. A message counts as
// delivered when its handler returned and the post-handler work it scheduled
// with RunAfterCurrentHandler ran — or when it was consumed on another path
// (no handler, dropped because the recipient crashed or the coordinator
// closed). Messages of one sender to one recipient are handled in the order
// sent; messages of different senders are not ordered.
//
// # Windows and backpressure
//
// Each sender has a window at each recipient: the messages it may have
// queued there that the recipient has not consumed yet (the recipient's
// Spec.Window: 1 024 by default, 4 096 for a child process). A Send that
// would exceed it waits, under its context, until half the window is free
// again; TrySend returns fence.ErrWouldBlock instead; a Publish queues to
// all its recipients or, while one of its windows is full, to none and
// waits. Windows are per sender, so one sender's backlog never takes
// another's room, and a recipient holds at most its window times the number
// of its senders from outside handlers. A send is never dropped or evicted.
//
// Sends made from inside a handler with the handler's context are exempt
// from the window: they never wait and are never refused for room, since two
// handlers sending into each other's full windows would otherwise deadlock
// their readers. Nothing bounds them but what the handlers send: a handler
// that sends k messages for each message it handles adds at most k messages
// beyond the windows per message handled. A handler that sends with a
// context not derived from its handler context is not exempt; if it waits,
// the sender's Snapshot shows the wait (State.Waiting) next to the handler
// (State.Handling), and the error once its context ends says which window was
// full for how long.
//
// # Handler panics
//
// A handler (or post-handler work) that panics crashes its member: the panic
// value and stack become a [fence.PanicError], which wraps [fence.ErrCrashed],
// and the member departs. A handler that calls runtime.Goexit crashes it
// with [fence.ErrGoexit]. Its remaining queued messages are consumed without
// being handled (their progress is published, so no barrier waits on them).
// Panics are not re-raised: one member's bug fails its rounds, not the
// program.
//
// # In-process messages
//
// A member spawned as goroutines receives values of the type parameter T,
// copied into its inbox; nothing is serialised. A payload that holds a
// pointer shares it.
package managedprocess
