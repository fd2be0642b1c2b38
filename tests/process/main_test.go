// Package process tests members that run as child processes: the test
// binary re-executes itself in a child role (see roles).
package process

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/muster-go/muster/processgroup"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if raw, ok := os.LookupEnv(rawEnv); ok { // a child that speaks no protocol (see rawChild)
		rawChild(raw)
		return
	}
	if os.Getenv(coordinatorEnv) != "" { // a coordinator to be killed (see coordinatorProcess)
		coordinatorProcess()
		return
	}
	if os.Getenv(bytesEnv) != "" { // a child of a coordinator of []byte messages
		if _, err := processgroup.ServeChild(context.Background(), bytesRoles()); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		return
	}
	if child, err := processgroup.ServeChild(context.Background(), roles()); child {
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		return
	}
	goleak.VerifyTestMain(m)
}
