// Package member is the goroutine member: a managedprocess.Member whose
// stream, inbox, reader and handlers run in the coordinator's process. The
// coordinator creates it with New and reaches it through the methods its
// users do not see (Start, Stop, ReadDelivered, ReadSent, PendingTargets);
// the member reaches the coordinator through Coordinator.
//
// # Links
//
// For each (sender, recipient) pair with traffic the sender's stream keeps
// a link: the link sequence of the last message queued (sent), the
// recipient's delivery progress (a counter the watcher arms and reads, see
// watcher.Counter) and the window's waiting sends (credit). Progress is
// published on every path that consumes a message.
//
// A link is freed once its recipient departed (its inbox is closed and its
// reader exited) and delivered everything sent on it, so a long-lived
// member that sends to many short-lived ones keeps no state for the departed.
// A member indexes the links that end at it; when it departed and its reader
// finished, the coordinator calls ReleaseLinks, which removes them from their
// senders' streams at once (and the member's own links from its recipients'
// indexes). A link made after that (a send to the departed member, which
// fails as before) is freed by its stream's sweep, run when the stream
// creates a link and has twice as many as its previous sweep left (and at
// least 64). Both keep the remaining links in creation order; Snapshot lists
// the links a stream holds.
//
// # Inbox
//
// An inbox is sixteen lanes; a sender always queues in the same lane (chosen by
// its ID), so its messages stay in order and senders in different lanes do
// not contend for one lock. The reader takes a whole lane at a time. Lanes
// have no bound of their own: the senders' windows bound them.
package member
