package main

import "fmt"

// membersUsage is the usage of the -members flag of the subcommands whose workers can run
// as child processes.
const membersUsage = "where the workers run: children (child processes of this program) or inproc (goroutines)"

// inProcess reports whether -members says the workers are goroutines.
func inProcess(members string) (bool, error) {
	switch members {
	case "children":
		return false, nil
	case "inproc":
		return true, nil
	}
	return false, fmt.Errorf("-members %q: want children or inproc", members)
}
