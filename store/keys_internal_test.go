package store

import (
	"reflect"
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

// all() is how the store loads every script at once (loadScripts): a script added to
// the struct but not to all() would pay a NOSCRIPT and a second replica WAIT.
func TestScriptsAllListsEveryScript(t *testing.T) {
	s := newScripts()
	v := reflect.ValueOf(s)
	if got := len(s.all()); got != v.NumField() {
		t.Fatalf("scripts.all() has %d scripts, the struct %d fields", got, v.NumField())
	}
	seen := map[uintptr]bool{}
	for _, sc := range s.all() {
		seen[reflect.ValueOf(sc).Pointer()] = true
	}
	for i := range v.NumField() {
		if !seen[v.Field(i).Pointer()] { // unexported fields: compare addresses
			t.Errorf("scripts.%s is missing from all()", v.Type().Field(i).Name)
		}
	}
}
