// Package cli holds what muster's demo programs share of their command
// line: the exit statuses, the subcommand dispatch, and the parsing of a
// subcommand's flags with its usage errors. The program in the main module
// (cmd/muster) and the one on the Redis backend (redisgroup/cmd/muster)
// both use it, so that they treat a command line alike.
package cli
