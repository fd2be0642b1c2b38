// Package processgroup is muster's coordinator: it spawns members, holds
// named groups and their barrier rounds, and runs the progress watcher that
// releases fenced rounds.
//
// # Rounds
//
// Each use of a barrier name in a group is a round; its mode is the first
// arrival's mode. A round expects the group's members at its first arrival
// and every member that joins the group (Spawn with Spec.Groups, or
// Member.Join) while the round is still arriving — while some member it
// expects has not arrived — like a party registered during a phase of a
// java.util.concurrent.Phaser. Once every expected member arrived the round
// drains (or, for a Rendezvous, is released): a member that joins then
// belongs to the next round. So a program needs no start gate when some
// member the round expects arrives only after the others were spawned — the
// program itself, arriving for a member of its own once it spawned the rest,
// as the examples do: until then the round is arriving, and every member
// spawned meanwhile is expected in it. Members that all arrive by themselves
// still need one, since the first of them could complete a round alone.
//
// A member's arrival goes to the oldest open round that expects it and that
// it has not yet arrived at, otherwise to a new round, so a fast member
// re-entering a name before a slow one was released never merges two rounds.
// A member has at most one open arrival per name.
//
// Round numbers increase strictly per (group, name), and a name's rounds are
// numbered 1, 2, 3, … until the group first forgets a name. A group does not
// keep every name it ever used: the state of a name with no open round and
// no standing arrival (a Barrier call that gave up waiting, see Barrier),
// other than the name of the latest arrival, is freed in an amortized sweep,
// run when the group creates a name and holds twice the names its previous
// sweep left (and at least 64). The group remembers the largest round number
// it freed, N; a name it creates afterwards — one it freed, or a new one —
// numbers its rounds from N+1, above every number the name had before. So a
// group that uses at most 64 names numbers each 1, 2, 3, …; one that uses
// many distinct names (step-1, step-2, …) costs memory for its open rounds
// only, and a departure settles only its open rounds.
//
// # Guarantees, in memory-model terms
//
//   - fence.Rendezvous: every member's arrival synchronizes before any
//     member's return from the round.
//   - fence.DeliveryFence: additionally, for every message a member sent
//     before it arrived, the return of its handler (and of the work the
//     handler scheduled with RunAfterCurrentHandler) at each recipient
//     synchronizes before any member's return from the round.
//   - fence.ProcessingFence: additionally, there is an instant after the
//     last arrival at which the group was quiescent: every message sent on a
//     watched link before that instant had been handled, and no handler of
//     such a message was running. Its handling synchronizes before any
//     member's return from the round.
//
// # Which links a processing fence watches
//
// A link is the stream of messages from one sender to one recipient. A
// processing fence watches every link whose sender is a member of the round
// and has not failed (departed from it), except links to a member that
// failed: messages members send to each other, and to members of other
// groups or of none. A member that left the round gracefully is still a
// member of it here: its links stay watched, so what it sent before leaving
// is covered (and so is what it sends afterwards, while it still runs and
// the round is open). It does not watch links whose sender is not a member of the round:
// in a chain member → outsider → member, the fence covers the first hop up to
// the outsider's handler returning, but not the outsider's message to the
// second member. Put every member whose handlers take part in a chain in the
// group. With CompleteForSurvivors, a member that failed is no longer watched
// from the next check on: messages it sent before it failed, and what
// survivors' handlers send because of them, may still be in flight at
// release. Messages a member sends after arriving (from its
// run function) delay the release until they are handled, when the check sees
// them; a chain of handlers that never stops keeps the round open, bounded by
// the callers' contexts.
//
// # How a processing fence decides
//
// Once every member arrived, the coordinator reads the delivered counter of
// every watched link, then the sent counter of every watched link, and
// releases iff they agree link by link (a termination-detection double pass;
// the proof is in quiescence.go). Otherwise the watcher waits until each
// lagging link's delivered counter reaches the sent value read, then checks
// again. A send raises its link's sent counter before the message becomes
// visible to the recipient; the recipient raises delivered only after the
// handler and its post-handler work returned, so a handler's sends are always
// counted before the message that caused them.
//
// # How a fenced round is released
//
// Arrival records, in a short critical section that never waits, the
// arriving member's drain targets: for each recipient it sent to that has not
// consumed everything, the number of the last message it addressed to it (each
// sender, recipient pair numbers its messages 1, 2, 3, …). When the last
// member arrives, a round with nothing left to drain is released at once;
// otherwise its targets go to the progress watcher, one goroutine that arms
// thresholds on the recipients' progress counters, then reads them
// (level-triggered), and releases the round when every target is met. No
// message reader ever waits for a barrier.
//
// # Leaving and failing
//
// A member whose run function returns nil, or that calls Member.Leave, leaves
// gracefully, like java.util.concurrent.Phaser's arriveAndDeregister: every
// open round that expected it and that it had not arrived at counts it as
// in, goes on without it and lists it in Result.Left, and what it sent
// before leaving stays fenced there, as if it had arrived (a delivery fence
// records its drain targets; a processing fence keeps watching its links). A
// round it had arrived at is unaffected. Its departure cause, which calls on
// the departed member report, is fence.ErrExited.
//
// A member that fails — its run function returns an error (fence.ErrExited
// wrapping it), panics or calls runtime.Goexit, or a handler of it crashes
// (fence.ErrCrashed) — while one of the group's rounds expects it fails the
// round for every waiter with a *fence.Error naming it and the cause; with
// CompleteForSurvivors the round completes for the others instead and
// Result.Departed lists who failed. Coordinator.Wait and Close report every
// failure. A waiter whose context ends gets the context's error wrapped in
// the same diagnosis; its arrival still counts. Close releases every waiter
// with fence.ErrClosed; the members it stops are not failures.
//
// # Child processes
//
// SpawnProcess starts a member as a child process — usually this program
// again, whose main first calls ServeChild with the roles it can serve — and
// the member behaves in its groups as a goroutine member does: the same
// Member API, errors, rounds and guarantees. It reaches the coordinator only
// through the socket pairs it inherits, one per direction; its messages
// cross encoded by the coordinator's codec (JSON unless WithCodec chose
// another; the roles of its children must use one of the same name), and
// the coordinator relays a message from one child to another without
// decoding it. A payload its recipient cannot decode disconnects its
// sender (a *ProcessError matching ErrBadFrame, naming the recipient); the
// recipient's handler does not run for it, and the recipient goes on.
//
// A child's Send returns once the message is on its way: sends and every
// other call of a child reach the coordinator in the order made, and a
// message is queued at its recipient before the child's next call is served,
// so what a child sent before it arrives at a barrier is fenced, and a chain
// of sends through handlers keeps its order as in process. Its window works
// as in process, with credit: a child holds the room of its window at a
// recipient, asks for more in the background once it spent half of what it
// was granted, and waits only once it spent it all. A message still on its
// way when its recipient departs is dropped (where a goroutine member's send
// at that moment would have failed); the child's sends to that recipient
// fail from its next call on.
//
// A child that exits, is killed or sends a frame out of protocol before its
// member departed fails the member with a *ProcessError; the coordinator
// kills a child that outlives its grace period, and a child whose
// coordinator died exits on its own (see Lifeline). A child's progress
// counts only once the child reported it: deliveries to it do not wait for
// each other, it reports what it handled per batch, and at once at a count
// the coordinator armed when someone waits on it.
package processgroup
