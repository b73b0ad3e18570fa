package event

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/mailproof/mailproof/event/eventtest"
)

// Seeds come from the event fixtures via f.Add; the committed corpus in
// testdata/fuzz/FuzzDecode/ adds the cases that once mattered.

func FuzzDecode(f *testing.F) {
	for _, name := range eventtest.Names(f) {
		f.Add(eventtest.Read(f, name))
	}
	f.Add([]byte(`{"type":"auth0.post_login","data":{"user":{"email_verified":null}}}`))
	f.Add([]byte(`{"a":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := Decode(body)
		if err == nil {
			if !json.Valid(body) {
				t.Fatalf("accepted %q, which encoding/json calls invalid", body)
			}
			assertRoundTrip(t, "fuzz", ev)
			assertJobPayload(t, "fuzz", ev)
			return
		}
		var ee *Error
		if !errors.As(err, &ee) {
			t.Fatalf("error %v is not an *Error", err)
		}
		syntax := ee.Field == "" && strings.HasPrefix(ee.Problem, "is not valid JSON")
		// The scanner agrees with encoding/json on what is JSON, except that it also
		// insists on UTF-8 and on the depth limit, which it checks first.
		if syntax && json.Valid(body) {
			t.Fatalf("called %q invalid JSON (%v); encoding/json accepts it", body, err)
		}
		if !json.Valid(body) && utf8.Valid(body) && !syntax && ee.Problem != "nests deeper than 32 levels" {
			t.Fatalf("invalid JSON %q rejected with %v, want a JSON error", body, err)
		}
	})
}
