package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/aws/smithy-go/logging"
)

// awsLogOutput is where the SDK's own log lines go (its default: stderr).
// Tests redirect it.
var awsLogOutput io.Writer = os.Stderr

// heldLogger is the SDK's logger while the CLI checks the credentials: it
// holds the SDK's lines (the IMDS client's "falling back to IMDSv1" warning,
// say) until release. When the check fails, the CLI's own error says what is
// wrong and the held lines are dropped; once it succeeds they are written,
// and so is every later line.
type heldLogger struct {
	mu       sync.Mutex
	held     bytes.Buffer
	released bool
}

// Logf implements logging.Logger with the SDK's standard format.
func (l *heldLogger) Logf(c logging.Classification, format string, v ...any) {
	line := fmt.Sprintf("SDK %s\n", fmt.Sprintf("%s %s", c, fmt.Sprintf(format, v...)))
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.released {
		_, _ = io.WriteString(awsLogOutput, line)
		return
	}
	l.held.WriteString(line)
}

// release writes the held lines (when keep) or drops them, and lets every
// later line through.
func (l *heldLogger) release(keep bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if keep && l.held.Len() > 0 {
		_, _ = awsLogOutput.Write(l.held.Bytes())
	}
	l.held.Reset()
	l.released = true
}
