// Package processgroup is muster's coordinator: it spawns members, holds
// named groups and their barrier rounds, and runs the progress watcher that
// releases fenced rounds.
//
// # Rounds
//
// Each use of a barrier name in a group is a round, numbered 1, 2, 3, … per
// (group, name). A round's membership is the group's membership at its
// first arrival; its mode is the first arrival's mode. A member's arrival
// goes to the oldest open round that includes it and that it has not yet
// arrived at, otherwise to a new round, so a fast member re-entering a name
// before a slow one was released never merges two rounds. A member has at
// most one open arrival per name.
//
// # Guarantees, in memory-model terms
//
//   - fence.Rendezvous: every member's arrival synchronizes before any
//     member's return from the round.
//   - fence.DeliveryFence: additionally, for every message a member sent
//     before it arrived, the return of its handler (and of the work the
//     handler scheduled with RunAfterCurrentHandler) at each recipient
//     synchronizes before any member's return from the round.
//   - fence.ProcessingFence: additionally, the same holds for every message a
//     handler sent while the round drained: the drain repeats until a
//     snapshot of the members' streams finds nothing new.
//
// # How a fenced round is released
//
// Arrival records, in a short critical section that never waits, the
// arriving member's drain targets: for each recipient it sent to that has not
// consumed everything, the last sequence it addressed to it. When the last
// member arrives, a round with nothing left to drain is released at once;
// otherwise its targets go to the progress watcher, one goroutine that arms
// thresholds on the recipients' progress counters, then reads them
// (level-triggered), and releases the round when every target is met. No
// message reader ever waits for a barrier.
//
// # Failures
//
// A member that leaves a group, whose run function returns, or that panics
// while one of the group's rounds is open fails the round for every waiter
// with a *fence.Error naming it and the cause (fence.ErrLeft, ErrExited,
// ErrCrashed); with CompleteForSurvivors the round completes for the others
// instead and Result.Departed lists who left. A waiter whose context ends
// gets the context's error wrapped in the same diagnosis; its arrival still
// counts. Close releases every waiter with fence.ErrClosed.
package processgroup
