package webhook

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Seeds come from the shared vectors and the post-login event fixtures via f.Add; the
// committed corpora in testdata/fuzz/<FuzzName>/ add the cases that once mattered.

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
	for _, body := range eventBodies(f) {
		f.Add(vectorID, vectorTS, vectorSig, body, uint16(len(body)))
	}
	v := mustVerifier(f, symmetricSecret, asymmetricPublic)
	f.Fuzz(func(t *testing.T, id, ts, header string, body []byte, mutation uint16) {
		// Arbitrary headers: an answer from the closed set, never a panic.
		keyID, err := v.Verify(id, ts, header, body)
		var se *SignatureError
		switch {
		case err == nil && !slices.Contains(v.KeyIDs(), keyID):
			t.Fatalf("Verify accepted with key ID %q", keyID)
		case err != nil && (!errors.As(err, &se) || !slices.Contains(Reasons(), se.Reason) || keyID != ""):
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

// eventBodies are the post-login event fixtures: realistic bodies to sign and verify.
func eventBodies(t testing.TB) [][]byte {
	t.Helper()
	names, err := filepath.Glob(filepath.Join("..", "event", "testdata", "events", "*.json"))
	if err != nil || len(names) == 0 {
		t.Fatalf("event fixtures: %v", err)
	}
	var out [][]byte
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}
