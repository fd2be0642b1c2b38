package bsp

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// ProgressPrinter returns a progress function for Run that prints each of
// total supersteps on w: a bar redrawn in place when w is a terminal, a
// line each otherwise.
func ProgressPrinter(w io.Writer, total int) func(step int, took time.Duration) {
	terminal := false
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil {
			terminal = st.Mode()&os.ModeCharDevice != 0
		}
	}
	return func(step int, took time.Duration) {
		if !terminal {
			fmt.Fprintf(w, "superstep %d/%d: %v\n", step, total, took.Round(time.Microsecond))
			return
		}
		const width = 30
		done := step * width / total
		fmt.Fprintf(w, "\r[%s%s] superstep %d/%d  %v   ", strings.Repeat("#", done), strings.Repeat(".", width-done),
			step, total, took.Round(time.Microsecond))
		if step == total {
			fmt.Fprintln(w)
		}
	}
}
