package handlers

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// benchBodies are the bodies the benchmarks run on: the compact body the Action sends
// for a typical login (786 B) and for a login with MFA and a 1 KiB user agent (1.8 KB,
// the largest a real login gives), and a full Auth0 event object of 2.3 KB, which the
// Action never sends (it trims the event) but another sender might.
var benchBodies = []string{"action-typical.json", "action-2k.json", "realistic-2k.json"}

// benchRequest is an event signed the way the Action signs it.
type benchRequest struct {
	v                  *Verifier
	id, ts, sig        string
	body               []byte
	ed25519V, ed25519S string
}

func newBenchRequest(b *testing.B, name string) benchRequest {
	b.Helper()
	body, err := os.ReadFile(filepath.Join("testdata", "events", name))
	if err != nil {
		b.Fatal(err)
	}
	at := time.Unix(1764000000, 0)
	id := "msg_" + "2bQzR7uYk1mD4pLsV9wXa3Kc0e"
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	sig, err := Sign(secret, id, at, body)
	if err != nil {
		b.Fatal(err)
	}
	v, err := NewVerifier([]string{secret}, 0, func() time.Time { return at })
	if err != nil {
		b.Fatal(err)
	}
	edSig, err := Sign(asymmetricSecret, id, at, body)
	if err != nil {
		b.Fatal(err)
	}
	return benchRequest{v: v, id: id, ts: strconv.FormatInt(at.Unix(), 10), sig: sig, body: body,
		ed25519V: asymmetricPublic, ed25519S: edSig}
}

func BenchmarkVerify(b *testing.B) {
	for _, name := range benchBodies {
		r := newBenchRequest(b, name)
		b.Run("hmac/"+name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(r.body)))
			for b.Loop() {
				if _, err := r.v.Verify(r.id, r.ts, r.sig, r.body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	r := newBenchRequest(b, "action-typical.json")
	b.Run("ed25519/action-typical.json", func(b *testing.B) {
		v, err := NewVerifier([]string{r.ed25519V}, 0, r.v.now)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.SetBytes(int64(len(r.body)))
		for b.Loop() {
			if _, err := v.Verify(r.id, r.ts, r.ed25519S, r.body); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkDecodePostLogin(b *testing.B) {
	for _, name := range benchBodies {
		r := newBenchRequest(b, name)
		b.Run("decoder/"+name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(r.body)))
			for b.Loop() {
				if _, err := DecodePostLogin(r.body); err != nil {
					b.Fatal(err)
				}
			}
		})
		// The baseline that motivated a decoder of our own. It does less (no UTF-8, depth,
		// presence or duplicate checks), so the real gap is wider than the numbers show.
		b.Run("encoding-json-baseline/"+name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(r.body)))
			for b.Loop() {
				var ev PostLoginEvent
				if err := json.Unmarshal(r.body, &ev); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerifyAndDecode is the receiver's CPU work per request before Redis.
//
//	go test -run '^$' -bench VerifyAndDecode -benchmem -count 5 ./handlers/
func BenchmarkVerifyAndDecode(b *testing.B) {
	for _, name := range benchBodies {
		r := newBenchRequest(b, name)
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(r.body)))
			for b.Loop() {
				if _, err := r.v.Verify(r.id, r.ts, r.sig, r.body); err != nil {
					b.Fatal(err)
				}
				if _, err := DecodePostLogin(r.body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkParseISOTime compares the decoder's fast path with the UnmarshalText it
// stands in for, on the layout JavaScript's toISOString writes.
func BenchmarkParseISOTime(b *testing.B) {
	raw := []byte("2026-11-24T10:15:02.877Z")
	b.Run("fast-path", func(b *testing.B) {
		for b.Loop() {
			if _, ok := parseISOTime(raw); !ok {
				b.Fatal("refused")
			}
		}
	})
	b.Run("UnmarshalText-baseline", func(b *testing.B) {
		for b.Loop() {
			var t time.Time
			if err := t.UnmarshalText(raw); err != nil {
				b.Fatal(err)
			}
		}
	})
}
