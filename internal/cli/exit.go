package cli

// Exit statuses of the demo programs.
const (
	ExitOK    = 0 // the run is OK, or help was asked for
	ExitFail  = 1 // the run failed its check, a member failed, or it did not finish
	ExitUsage = 2 // the command line is bad
)

// Status is the exit status of a run: ExitOK if ok, ExitFail otherwise.
func Status(ok bool) int {
	if ok {
		return ExitOK
	}
	return ExitFail
}
