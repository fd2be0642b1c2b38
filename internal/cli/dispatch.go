package cli

import (
	"fmt"
	"io"
)

// Subcommands maps each subcommand's name to what runs it: it gets the
// arguments after the name and returns the exit status.
type Subcommands map[string]func(args []string) int

// Dispatch runs the subcommand that args (the command line without the
// program name) begins with, and returns its exit status. For help, -h,
// -help or --help it prints usage on stdout and returns ExitOK; for no
// subcommand, or one cmds does not hold, it says so on stderr, followed by
// usage, and returns ExitUsage.
func Dispatch(args []string, cmds Subcommands, usage string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "muster: missing subcommand")
		fmt.Fprint(stderr, usage)
		return ExitUsage
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return ExitOK
	}
	cmd, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "muster: unknown subcommand %q\n", args[0])
		fmt.Fprint(stderr, usage)
		return ExitUsage
	}
	return cmd(args[1:])
}
