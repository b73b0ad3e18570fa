package store

import (
	"strings"
	"testing"
)

// FuzzUnpackRecord: any value in a record field decodes without a panic, and
// the connection reads as the default one exactly when its place is empty,
// never as "" (which accepts a login on any connection) by accident.
//
//	go test -fuzz FuzzUnpackRecord ./store/
func FuzzUnpackRecord(f *testing.F) {
	for _, s := range []string{
		"", "P", "P\x1fmxa3s6uy\x1fperson@example.com", "W\x1f1\x1fe\x1f2\x1f=db\x1f3\x1f4\x1fo\x1fh\x1fd\x1f5\x1f6\x1f7",
		"V\x1f\x1f\x1f\x1f=", "X\x1b", "P\x1f\x1f\x1b\x1f\x1f\x1f=\x1ba\x1bb", "P\x1f-1\x1f\x1fzzzzzzzzzzzzzzzzz", strings.Repeat("\x1f", 20),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, packed string) {
		rec := unpackRecord("auth0|1", packed)
		parts := strings.Split(packed, "\x1f")
		emptyConn := len(parts) < 5 || parts[4] == ""
		if emptyConn && rec.Connection != defaultConnection {
			t.Errorf("%q: connection %q, want the default", packed, rec.Connection)
		}
		if !emptyConn && rec.Connection != unescapePacked(parts[4][1:]) {
			t.Errorf("%q: connection %q, want %q", packed, rec.Connection, parts[4][1:])
		}
		if rec.UserID != "auth0|1" {
			t.Errorf("%q: user %q", packed, rec.UserID)
		}
	})
}
