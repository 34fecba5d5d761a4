// Package leakcheck fails a package's tests when a goroutine outlives them:
// the limiter's timers, stream taps and the simulator's connections must
// all end.
package leakcheck

import (
	"testing"

	"go.uber.org/goleak"
)

// VerifyTestMain runs m and then checks for leaked goroutines, ignoring
// net/http's keep-alive connections of the SDK's shared transport. Call it
// from a package's TestMain.
func VerifyTestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreAnyFunction("net/http.(*persistConn).readLoop"),
	)
}
