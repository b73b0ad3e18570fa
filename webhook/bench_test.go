package webhook

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// benchBodies are the bodies the benchmarks run on (event/testdata/events): the compact
// body the Action sends for a typical login (786 B) and for a login with MFA and a 1 KiB
// user agent (1.8 KB, the largest a real login gives), and a full Auth0 event object of
// 2.3 KB, which the Action never sends (it trims the event) but another sender might.
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
	body, err := os.ReadFile(filepath.Join("..", "event", "testdata", "events", name))
	if err != nil {
		b.Fatal(err)
	}
	at := time.Unix(1764000000, 0)
	id := "msg_" + "2bQzR7uYk1mD4pLsV9wXa3Kc0e"
	sig, err := Sign(symmetricSecret, id, at, body)
	if err != nil {
		b.Fatal(err)
	}
	v, err := NewVerifier([]string{symmetricSecret}, 0, func() time.Time { return at })
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
