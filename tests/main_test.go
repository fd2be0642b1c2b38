package tests

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/muster-go/muster/internal/repro"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if child, err := repro.ServeChild(context.Background()); child { // a repro worker (see TestReproSuite)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		return
	}
	goleak.VerifyTestMain(m)
}
