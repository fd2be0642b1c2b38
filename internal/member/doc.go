// Package managedprocess is a member of a muster process group: its outbound
// stream, its inbox and reader, its handlers and its delivery progress.
//
// # Streams and progress
//
// Every message a member sends gets the next sequence number of its stream
// (1, 2, 3, …); a Publish is one message, with one sequence number, addressed
// to many recipients. For each (sender, recipient) pair with traffic the member
// keeps a link: the last sequence addressed to that recipient and the
// recipient's delivery progress (a counter the watcher arms and reads, see
// [watcher.Counter]). A message counts as delivered when its handler returned
// and the post-handler work it scheduled with RunAfterCurrentHandler ran — or
// when it was consumed on another path (no handler, dropped because the
// member crashed or the coordinator closed). Progress is published on every
// such path.
//
// A link is freed once its recipient departed (its inbox is closed and its
// reader exited) and delivered everything sent on it, so a long-lived
// member that sends to many short-lived ones keeps no state for the departed.
// Freeing is amortized: a stream sweeps its links when it creates one and has
// twice as many as its previous sweep left (and at least 64), so it may hold
// that many links to departed members; Snapshot lists the links it holds.
// Sweeps keep the remaining links in creation order. A later send to a
// departed member fails as before.
//
// # Inbox and backpressure
//
// An inbox is four lanes; a sender always queues in the same lane (chosen by
// its ID), so its messages stay in order and senders in different lanes do
// not contend for one lock. The reader takes a whole lane at a time and
// handles messages in order per sender; it does not order messages of
// different senders. Each lane holds at most Config.InboxCapacity messages
// waiting for the reader, besides the batch the reader took from it (at most
// as many again), so messages sent from outside handlers never leave more
// than 2 × Lanes × InboxCapacity unhandled in one inbox. A Send to a full
// lane waits, under its context, until the reader makes room; TrySend returns
// ErrWouldBlock instead; a Publish queues to all its recipients or, while one
// of their lanes is full, to none and waits. A send is never dropped or
// evicted.
//
// Sends made from inside a handler (with the handler's context) are exempt
// from the bound: they never wait and are never refused for room, since two
// handlers sending into each other's full inboxes would otherwise deadlock
// their readers. Nothing bounds them but what the handlers send: a handler
// that sends k messages for each message it handles can add k messages
// beyond the bound per message handled.
//
// # Handler panics
//
// A handler (or post-handler work) that panics crashes its member: the panic
// value and stack become a [fence.PanicError], which wraps [fence.ErrCrashed],
// and the member departs. Its remaining queued messages are consumed without
// being handled (their progress is published, so no barrier waits on them).
// Panics are not re-raised: one member's bug fails its rounds, not the program.
//
// # In-process messages
//
// Messages are values of the type parameter T, copied into the recipient's
// inbox; nothing is serialised. A payload that holds a pointer shares it.
package member
