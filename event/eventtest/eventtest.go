// Package eventtest gives tests the realistic post-login event fixtures of
// event/testdata/events and ways to vary them, so every package tests against the same
// bodies. It imports only the standard library.
package eventtest

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// Base is the fixture the variations start from: a first password login after a reset.
const Base = "first-login-after-reset.json"

// dir is event/testdata/events, found from this file so any package's test can read it.
func dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "testdata", "events")
}

// Path returns the path of the fixture name.
func Path(name string) string { return filepath.Join(dir(), name) }

// Read returns the fixture name.
func Read(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(Path(name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Names lists every JSON fixture.
func Names(t testing.TB) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir(), "*.json"))
	if err != nil || len(names) < 6 {
		t.Fatalf("event fixtures: %d files, %v; want at least 6", len(names), err)
	}
	for i := range names {
		names[i] = filepath.Base(names[i])
	}
	return names
}

// Edit decodes Base, lets set change it, and encodes it again.
func Edit(t testing.TB, set func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(Read(t, Base)))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	set(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// at walks a dotted path ("data.user.email", "data.authentication.methods.0") to the
// parent of its last element.
func at(m map[string]any, path string) (parent any, last string) {
	parts := strings.Split(path, ".")
	var cur any = m
	for _, p := range parts[:len(parts)-1] {
		switch c := cur.(type) {
		case map[string]any:
			cur = c[p]
		case []any:
			i, _ := strconv.Atoi(p)
			cur = c[i]
		}
	}
	return cur, parts[len(parts)-1]
}

// Without is Base without the member at path.
func Without(t testing.TB, path string) []byte {
	return Edit(t, func(m map[string]any) { p, k := at(m, path); delete(p.(map[string]any), k) })
}

// With is Base with the value at path set to v.
func With(t testing.TB, path string, v any) []byte {
	return Edit(t, func(m map[string]any) {
		switch p, k := at(m, path); p := p.(type) {
		case map[string]any:
			p[k] = v
		case []any:
			i, _ := strconv.Atoi(k)
			p[i] = v
		}
	})
}

// Raw replaces text in Base, for what With cannot express (invalid JSON or UTF-8).
func Raw(t testing.TB, old, new string) []byte {
	t.Helper()
	b := Read(t, Base)
	if !bytes.Contains(b, []byte(old)) {
		t.Fatalf("fixture has no %q", old)
	}
	return bytes.Replace(b, []byte(old), []byte(new), 1)
}

// Nested is a value nested depth arrays deep.
func Nested(depth int) any {
	var v any = "leaf"
	for range depth {
		v = []any{v}
	}
	return v
}
