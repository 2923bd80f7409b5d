// Package testkit is what tests across the modules share.
package testkit

import (
	"bytes"
	"os"
	"sync"
	"testing"
)

// SkipUnlessCI skips a test whose tool (a browser, the aws CLI, a Debian package) is
// missing on a developer's machine, and fails it under CI=true: CI installs every
// tool (`make deps`), so a skip there would hide a missing install step.
func SkipUnlessCI(t testing.TB, reason string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal("CI=true and " + reason)
	}
	t.Skip(reason)
}

// Buffer is a bytes.Buffer that processes' output and loggers may write to from
// many goroutines while a test reads it.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String is what was written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
