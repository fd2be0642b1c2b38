package repro

import (
	"context"
	"errors"
)

// Verdict is what a run comes to, as the demo programs report it: their
// -json "verdict" field, and the last line of their summary.
type Verdict string

// The verdicts.
const (
	VerdictOK          Verdict = "ok"          // the run finished and its mode's promise held
	VerdictExpected    Verdict = "expected"    // the run finished; only markers its mode does not fence were missing
	VerdictFail        Verdict = "fail"        // the run finished; a fence missed a marker it covers, or markers were duplicated, reordered or lost
	VerdictTimeout     Verdict = "timeout"     // -timeout ended the run before it finished
	VerdictInterrupted Verdict = "interrupted" // an interrupt ended the run before it finished
	VerdictError       Verdict = "error"       // a member (or, across processes, a process) failed
)

// Judge is the verdict on a run that returned rep and err. An err wrapping
// ErrNotFinished is a run whose context ended first: a timeout if it wraps
// context.DeadlineExceeded too, an interrupt otherwise; any other err is a
// failure.
func Judge(rep Report, err error) Verdict {
	switch {
	case errors.Is(err, ErrNotFinished) && errors.Is(err, context.DeadlineExceeded):
		return VerdictTimeout
	case errors.Is(err, ErrNotFinished):
		return VerdictInterrupted
	case err != nil:
		return VerdictError
	case rep.OK:
		return VerdictOK
	case rep.MissingExpected():
		return VerdictExpected
	default:
		return VerdictFail
	}
}

// OK reports whether the verdict is ok or expected: an OK run, or one whose
// only finding is the missing markers its mode does not fence
// (Report.MissingExpected). A program exits with status 0 exactly then, and
// its -json "ok" says so.
func (v Verdict) OK() bool { return v == VerdictOK || v == VerdictExpected }
