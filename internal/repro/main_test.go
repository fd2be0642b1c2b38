package repro

import (
	"context"
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if child, err := ServeChild(context.Background()); child { // a worker of a test's run
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		return
	}
	goleak.VerifyTestMain(m)
}
