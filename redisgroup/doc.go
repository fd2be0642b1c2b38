// Package redisgroup is a muster group whose state lives in Redis, for
// members on several machines: each process of a deployment creates a
// Coordinator with the same Config.Prefix and Config.Group on the same Redis
// server and spawns its members with it. Members are
// managedprocess.Member values, as with processgroup, so member code runs
// unchanged: ordered messages, the three barrier modes, the outbound fence,
// graceful leaving, and failures that name who and why. This package is a
// module of its own, so that importing muster never pulls Redis in.
//
// # What is in Redis
//
// Every key starts with "<Prefix>:{<Group>}", whose group is a Redis Cluster
// hash tag, and carries a TTL (Config.KeyTTL): writes renew it, and the
// heartbeats renew the group's long-lived keys and their members' own, so a
// group lasts while its members run and is gone KeyTTL after they stopped. A
// finished round keeps its outcome for about a minute (at most KeyTTL); an
// arrival is registered for its round's outcome from the arrival on, so a
// Wait that comes later still gets it. Each member has an inbox stream that
// senders append to with XADD; its reader takes batches with a blocking
// XREAD from the last id it saw, runs the handler on each message, then
// reports the batch's progress in one call, which trims the inbox. Every
// step that changes the group — a send, a progress report, an arrival, a
// leave, a departure — is one Lua function of the group's library (or, for a
// user not permitted to use functions, one script): one atomic round trip.
// The library, named muster_<hash of its code>, is shared by every group of
// the same release on the server; a release with other code loads a library
// of its own beside it. A round is released by keeping its outcome in the
// round's hash and publishing it on the group's release channel. Each
// coordinator subscribes once and, after every confirmed subscription (the
// first, and each one after a broken connection), checks the rounds its
// members wait on: so there is no window between subscribing and checking in
// which a release could be missed, and no blocking read to reissue per
// round. Wakes for a sender waiting for room and for an outbound fence
// travel on a stream and channel per coordinator, read the same way.
//
// # Retries
//
// A connection can break after Redis ran a step and before its reply came
// back; go-redis then sends the step again (Options.MaxRetries), and a
// caller may retry too. Each step is written so that running it twice counts
// once: a send, publish or dispatch carries its sequence number in the
// member's stream, and Redis skips one it already appended; an arrival, a
// registration (Spawn) and a leave carry a token, and the same token again
// gets the first call's reply; a join, a departure, an outbound fence and an
// acknowledgement are the same however often they run; progress reports are
// high-water marks. A reader retries a progress report, and a worker an
// acknowledgement, until it lands; a worker whose queue is idle takes back a
// task that was delivered to it on a reply it never got. Once an arrival,
// send, publish or dispatch is sent, its ctx no longer ends it (go-redis's
// timeouts still do), so that a cancelled call is never one that took
// effect. An Arrive or Barrier that failed with ErrRedis may be called
// again: if the first one counted, the second is the same arrival. A
// Publish, or a Send that waited for its step's reply, that failed with
// ErrRedis may or may not have been appended; it is never appended twice.
//
// # Rounds and fences
//
// Rounds follow processgroup's rules: a round expects the group's members at
// its first arrival and every member that joins while it is arriving; a
// member's arrival goes to the oldest arriving round that expects it. A
// delivery fence records, at each arrival, how many messages the member had
// addressed to each recipient, and releases once every recipient's reported
// progress reached them. A processing fence releases once every member
// arrived and the group holds no unhandled message at all: the scripts keep
// the count of messages sent and not yet handled in the group, raised by a
// send before its message is visible and lowered by a progress report after
// the handler returned, so an atomic read of zero is a quiescent instant.
// This watches every link between the group's members and its queues,
// which is more than processgroup watches (links from the round's members).
// Sends of one member are serialised, so its stream reaches each inbox in
// order.
//
// # Failure
//
// Each coordinator renews its members' heartbeat keys every Heartbeat/4. A
// coordinator with a member waiting (in a round, for room in a window, or
// in an outbound fence) checks the group's heartbeats every Heartbeat/4, and
// departs a member whose key expired as crashed with ErrHeartbeatLapsed: the
// rounds that expect it fail naming it (or complete for survivors), its
// inbox is consumed, and senders waiting for room there fail. A member that
// was frozen longer than Heartbeat finds itself departed when it resumes.
// A round whose state Redis lost (a restart without persistence, a failover
// to a replica that had not seen it) ends with ErrStateLost, and so do the
// members Redis no longer knows: never a silent success, never a hang.
// Readers and the release watcher retry after a connection error from the
// last id they saw, so nothing is missed.
//
// # Queues
//
// A Queue hands tasks to workers at least once, with a consumer group: see
// Queue. A task counts in its producer's outbound and delivery fences until
// some worker acknowledged it.
//
// # Limits
//
// A Coordinator serves one group: Member.Join, Leave and Publish take only
// its name. Members find each other by name within the group. A message that
// does not decode at its recipient is logged and counts as handled. A send
// to a recipient not yet known here, or whose window looks full, waits for
// its step's reply; others are queued and appended in batches, and one
// whose recipient departs before it is appended is dropped.
package redisgroup
