// Package fence holds the vocabulary shared by every muster package: barrier
// modes, member identities, drain targets, the result of a round and the
// errors a round can end with.
//
// It has no behaviour of its own and no dependencies beyond the standard
// library, so that the coordinator, the members, the progress watcher and
// (later) the child-process transport can all speak it.
package fence
