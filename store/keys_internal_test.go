package store

import (
	"strings"
	"testing"
)

// TestIDKey: the one-allocation key builder gives what prefix + kind + encodeID gives,
// for ids that would forge keys raw and for ids longer than its stack buffer.
func TestIDKey(t *testing.T) {
	for _, id := range []string{"auth0|1", "x}:{mp}\n", "ü", "", strings.Repeat("a", 256), strings.Repeat("é", 400)} {
		for _, kind := range []string{"pending:", "replay:", "audit:", "replayed:"} {
			if got, want := idKey(kind, id), prefix+kind+encodeID(id); got != want {
				t.Errorf("idKey(%q, %q) = %q, want %q", kind, id, got, want)
			}
		}
	}
}
