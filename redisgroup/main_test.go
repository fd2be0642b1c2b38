package redisgroup_test

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

// TestMain runs the test binary as a member process when roleEnv names a
// role (the tests start it so, as a member on another host), and otherwise
// runs the tests, checking that none leaks a goroutine.
func TestMain(m *testing.M) {
	if role := os.Getenv(roleEnv); role != "" {
		os.Exit(runRole(role))
	}
	goleak.VerifyTestMain(m)
}
