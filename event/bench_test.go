package event

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// benchBodies: see webhook's benchmarks, which run on the same three bodies.
var benchBodies = []string{"action-typical.json", "action-2k.json", "realistic-2k.json"}

func BenchmarkDecode(b *testing.B) {
	for _, name := range benchBodies {
		body, err := os.ReadFile(filepath.Join("testdata", "events", name))
		if err != nil {
			b.Fatal(err)
		}
		b.Run("decoder/"+name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, err := Decode(body); err != nil {
					b.Fatal(err)
				}
			}
		})
		// The baseline that motivated a decoder of our own. It does less (no UTF-8, depth,
		// presence or duplicate checks), so the real gap is wider than the numbers show.
		b.Run("encoding-json-baseline/"+name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				var ev PostLogin
				if err := json.Unmarshal(body, &ev); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
