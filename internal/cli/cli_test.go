package cli

import (
	"bytes"
	"errors"
	"flag"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestDispatch(t *testing.T) {
	cmds := Subcommands{"echo": func(args []string) int { return len(args) }}
	for _, tc := range []struct {
		args         []string
		code         int
		stdout, errs string
	}{
		{[]string{"echo", "a", "b"}, 2, "", ""},
		{nil, ExitUsage, "", "muster: missing subcommand\nUSAGE\n"},
		{[]string{"nosuch"}, ExitUsage, "", "muster: unknown subcommand \"nosuch\"\nUSAGE\n"},
		{[]string{"--help"}, ExitOK, "USAGE\n", ""},
	} {
		var stdout, stderr bytes.Buffer
		assert.Equal(t, tc.code, Dispatch(tc.args, cmds, "USAGE\n", &stdout, &stderr), "%v", tc.args)
		assert.Equal(t, tc.stdout, stdout.String(), "%v", tc.args)
		assert.Equal(t, tc.errs, stderr.String(), "%v", tc.args)
	}
}

// parse parses args into a flag set with one flag, -n.
func parse(args ...string) (stdout, stderr string, err error) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.Int("n", 0, "a number")
	SetUsage(fs, "usage: x\n")
	var out, errOut bytes.Buffer
	err = Parse(fs, args, &out, &errOut)
	return out.String(), errOut.String(), err
}

func TestParseRoutesTheUsage(t *testing.T) {
	stdout, stderr, err := parse("-h")
	assert.ErrorIs(t, err, flag.ErrHelp)
	assert.Equal(t, "usage: x\n  -n int\n    \ta number\n", stdout)
	assert.Empty(t, stderr)

	stdout, stderr, err = parse("-n", "many")
	assert.Equal(t, UsageError{Err: errors.Unwrap(err), Printed: true}, err)
	assert.Empty(t, stdout)
	assert.Contains(t, stderr, `invalid value "many" for flag -n`)
	assert.Contains(t, stderr, "usage: x\n")

	stdout, stderr, err = parse("extra")
	assert.EqualError(t, err, `unexpected argument "extra"`)
	assert.False(t, err.(UsageError).Printed)
	assert.Empty(t, stdout+stderr)
	_, _, err = parse("-n", "3")
	assert.NoError(t, err)
}

func TestUsageStatus(t *testing.T) {
	for _, tc := range []struct {
		err          error
		code         int
		hinted, bare string
	}{
		{flag.ErrHelp, ExitOK, "", ""},
		{UsageError{Err: errors.New("bad flag"), Printed: true}, ExitUsage, "", ""},
		{UsageError{Err: errors.New("stray")}, ExitUsage, "muster cmd: stray\nrun \"muster cmd -h\" for usage\n", "muster cmd: stray\n"},
		{errors.New("-x: no"), ExitUsage, "muster cmd: -x: no\nrun \"muster cmd -h\" for usage\n", "muster cmd: -x: no\n"},
	} {
		var hinted, bare bytes.Buffer
		assert.Equal(t, tc.code, UsageStatus("cmd", tc.err, &hinted))
		assert.Equal(t, tc.code, TerseUsageStatus("cmd", tc.err, &bare))
		assert.Equal(t, tc.hinted, hinted.String())
		assert.Equal(t, tc.bare, bare.String())
	}
	assert.Equal(t, ExitOK, Status(true))
	assert.Equal(t, ExitFail, Status(false))
}
