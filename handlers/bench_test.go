package handlers

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/mailproof/mailproof/event"
	"github.com/mailproof/mailproof/webhook"
)

// BenchmarkVerifyAndDecode is the receiver's CPU work per request before Redis: the
// signature check, then the strict decode, on the Action's typical body (786 B), its
// largest (1.8 KB) and a full Auth0 event object (2.3 KB).
//
//	go test -run '^$' -bench VerifyAndDecode -benchmem -count 5 ./handlers/
func BenchmarkVerifyAndDecode(b *testing.B) {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	at := time.Unix(1764000000, 0)
	id := "msg_2bQzR7uYk1mD4pLsV9wXa3Kc0e"
	v, err := webhook.NewVerifier([]string{secret}, 0, func() time.Time { return at })
	if err != nil {
		b.Fatal(err)
	}
	for _, name := range []string{"action-typical.json", "action-2k.json", "realistic-2k.json"} {
		body, err := os.ReadFile(filepath.Join("..", "event", "testdata", "events", name))
		if err != nil {
			b.Fatal(err)
		}
		sig, err := webhook.Sign(secret, id, at, body)
		if err != nil {
			b.Fatal(err)
		}
		ts := strconv.FormatInt(at.Unix(), 10)
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, err := v.Verify(id, ts, sig, body); err != nil {
					b.Fatal(err)
				}
				if _, err := event.Decode(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
