// Package watcher is the progress watcher of the drain-before-release
// barrier: one goroutine that owns every round in its drain phase and is the
// only place drain completions are emitted from.
//
// It is built as a plain synchronous state machine, Core, which tests drive
// step by step, and a loop, Watcher, that runs a Core on its own goroutine
// (the shape of etcd raft's node.run around RawNode). Callers never wait for
// the loop: Submit, Notify and Drop append to a mutex-protected mailbox and
// wake the loop with a non-blocking send, so a message reader is never made to
// block.
//
// The protocol is level-triggered. For each counter the Core arms a threshold
// (Counter.Arm) and then reads progress (Delivered); a reader stores
// its progress and then compares it with the threshold (Publish). Both sides
// store before they load, so at least one of them sees the crossing: either
// the Core finds the target met when it reads, or the reader's Publish returns
// true and the reader calls Notify. A crossing that happened before the target
// was registered is found by the read that follows the arm.
package watcher
