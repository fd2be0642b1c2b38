package cli

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
)

// UsageError is a bad command line. Printed says whether the flag package
// already reported it, with the usage, on stderr.
type UsageError struct {
	Err     error
	Printed bool
}

func (e UsageError) Error() string { return e.Err.Error() }
func (e UsageError) Unwrap() error { return e.Err }

// SetUsage makes fs print text, then its flags' defaults, as its usage.
func SetUsage(fs *flag.FlagSet, text string) {
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), text)
		fs.PrintDefaults()
	}
}

// Parse parses args into fs, which must use flag.ContinueOnError. For -h it
// prints the usage on stdout and returns flag.ErrHelp; for the flag
// package's errors it prints them and the usage on stderr and returns a
// printed UsageError; for a stray argument it returns a UsageError that is
// not printed.
func Parse(fs *flag.FlagSet, args []string, stdout, stderr io.Writer) error {
	// The flag package prints the usage for -h and for its errors alike:
	// hold it until Parse says which, then route it.
	var printed bytes.Buffer
	fs.SetOutput(&printed)
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		_, _ = stdout.Write(printed.Bytes())
		return err
	case err != nil:
		_, _ = stderr.Write(printed.Bytes())
		return UsageError{Err: err, Printed: true}
	case fs.NArg() > 0:
		return UsageError{Err: fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	return nil
}

// UsageStatus returns the exit status of subcommand cmd ("repro") whose
// command line did not parse with err: ExitOK for flag.ErrHelp, whose usage
// Parse printed; ExitUsage otherwise, after printing "muster CMD: ERR" and
// how to get the usage on stderr, unless err is a printed UsageError.
func UsageStatus(cmd string, err error, stderr io.Writer) int {
	code, said := complain(cmd, err, stderr)
	if said {
		fmt.Fprintf(stderr, "run \"muster %s -h\" for usage\n", cmd)
	}
	return code
}

// TerseUsageStatus is UsageStatus without the line on how to get the
// usage.
func TerseUsageStatus(cmd string, err error, stderr io.Writer) int {
	code, _ := complain(cmd, err, stderr)
	return code
}

// complain is UsageStatus up to its last line, and reports whether it
// printed err.
func complain(cmd string, err error, stderr io.Writer) (code int, said bool) {
	if errors.Is(err, flag.ErrHelp) {
		return ExitOK, false
	}
	var ue UsageError
	if errors.As(err, &ue) && ue.Printed {
		return ExitUsage, false
	}
	fmt.Fprintf(stderr, "muster %s: %v\n", cmd, err)
	return ExitUsage, true
}
