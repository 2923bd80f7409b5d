// Package testkit is what tests across the modules share.
package testkit

import (
	"os"
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
