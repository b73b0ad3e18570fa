package handlers

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// Seeds come from the shared vectors and the event fixtures via f.Add; the committed
// corpora in testdata/fuzz/<FuzzName>/ add the cases that once mattered.

func FuzzParseSignatureHeader(f *testing.F) {
	for _, v := range loadSignatureVectors(f).Verify {
		f.Add(v.Signature)
	}
	f.Add(vectorSig + " " + vectorSig)
	f.Add("v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw/enGzPCXe5BdqzCInXqYXFymVJaA7AZdpXwVLPo3mNl8EM+m7TBAg==")
	f.Fuzz(func(t *testing.T, header string) {
		var s signatureSet
		if !s.parse(header) {
			return
		}
		if s.n < 1 || s.n > maxSignatureEntries {
			t.Fatalf("parse(%q) accepted %d entries", header, s.n)
		}
		// The grammar has one spelling per header: entries written back give the input.
		parts := make([]string, s.n)
		for i, e := range s.entries[:s.n] {
			value := e.value
			switch e.version {
			case "v1":
				value = base64.StdEncoding.EncodeToString(e.sig[:32])
			case "v1a":
				value = base64.StdEncoding.EncodeToString(e.sig[:])
			}
			if value != e.value {
				t.Fatalf("parse(%q): entry %d decodes to %q, which encodes as %q", header, i, e.value, value)
			}
			parts[i] = e.version + "," + value
		}
		if got := strings.Join(parts, " "); got != header {
			t.Fatalf("parse(%q) re-serializes as %q", header, got)
		}
	})
}

func FuzzVerify(f *testing.F) {
	for _, v := range loadSignatureVectors(f).Verify {
		f.Add(v.ID, v.Timestamp, v.Signature, []byte(v.Payload), uint16(0))
	}
	for _, name := range eventFixtures(f) {
		f.Add(vectorID, vectorTS, vectorSig, readEvent(f, name), uint16(len(name)))
	}
	v := mustVerifier(f, symmetricSecret, asymmetricPublic)
	f.Fuzz(func(t *testing.T, id, ts, header string, body []byte, mutation uint16) {
		// Arbitrary headers: an answer from the closed set, never a panic.
		keyID, err := v.Verify(id, ts, header, body)
		var se *SignatureError
		switch {
		case err == nil && !slices.Contains(v.KeyIDs(), keyID):
			t.Fatalf("Verify accepted with key ID %q", keyID)
		case err != nil && (!errors.As(err, &se) || !slices.Contains(SignatureReasons, se.Reason) || keyID != ""):
			t.Fatalf("Verify = %q, %v; want an empty key ID and a listed reason", keyID, err)
		}
		// The body signed properly verifies under both schemes; any one-byte change fails.
		for _, secret := range []string{symmetricSecret, asymmetricSecret} {
			sig, err := Sign(secret, vectorID, vectorTime(), body)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := v.Verify(vectorID, vectorTS, sig, body); err != nil {
				t.Fatalf("signed body %q: %v", body, err)
			}
			if len(body) == 0 {
				continue
			}
			changed := bytes.Clone(body)
			changed[int(mutation)%len(changed)] ^= 1 << (mutation >> 13)
			if _, err := v.Verify(vectorID, vectorTS, sig, changed); reasonOf(err) != "no_match" {
				t.Fatalf("body %q changed to %q: reason %q, want no_match", body, changed, reasonOf(err))
			}
		}
	})
}

func FuzzDecodePostLogin(f *testing.F) {
	for _, name := range eventFixtures(f) {
		f.Add(readEvent(f, name))
	}
	f.Add([]byte(`{"type":"auth0.post_login","data":{"user":{"email_verified":null}}}`))
	f.Add([]byte(`{"a":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := DecodePostLogin(body)
		if err == nil {
			if !json.Valid(body) {
				t.Fatalf("accepted %q, which encoding/json calls invalid", body)
			}
			assertRoundTrip(t, "fuzz", ev)
			assertJobPayload(t, "fuzz", ev)
			return
		}
		var ee *EventError
		if !errors.As(err, &ee) {
			t.Fatalf("error %v is not an *EventError", err)
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

// FuzzParseISOTime holds the decoder's fast time path to time.Time.UnmarshalText: where
// the fast path answers, it must give exactly what UnmarshalText gives, and it must never
// accept what UnmarshalText refuses.
func FuzzParseISOTime(f *testing.F) {
	for _, s := range []string{"2026-11-24T10:15:03.120Z", "2026-11-24T10:15:03Z", "2024-02-29T00:00:00.000Z",
		"2023-02-29T00:00:00.000Z", "2026-04-31T12:00:00Z", "2026-11-24T24:00:00Z", "2026-11-24T23:59:60Z",
		"0000-01-01T00:00:00.000Z", "2026-11-24T10:15:03.12Z", "2026-11-24t10:15:03Z", "2026-11-24T10:15:03+00:00",
		"-026-11-24T10:15:03Z", "2026-+1-24T10:15:03Z", "2026-11-24T10:15:03,120Z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := parseISOTime([]byte(s))
		if !ok {
			return
		}
		var want time.Time
		if err := want.UnmarshalText([]byte(s)); err != nil {
			t.Fatalf("parseISOTime(%q) accepted what UnmarshalText refuses: %v", s, err)
		}
		if got != want {
			t.Fatalf("parseISOTime(%q) = %v, UnmarshalText = %v", s, got, want)
		}
	})
}
