//go:build linux

package chaos

import (
	"crypto/rand"
	"encoding/binary"
	"os"
	"strconv"
	"testing"
	"time"
)

// TestChaos is `make chaos`. It runs only when CHAOS_DURATION is set (the
// Makefile sets it), so `make test` stays quick; CHAOS_SEED replays a run and
// CHAOS_RATE sets the logins per second (3 unless told).
func TestChaos(t *testing.T) {
	durText := os.Getenv("CHAOS_DURATION")
	if durText == "" {
		t.Skip("the chaos suite runs under `make chaos` (CHAOS_DURATION unset)")
	}
	dur, err := time.ParseDuration(durText)
	if err != nil || dur < 30*time.Second {
		t.Fatalf("CHAOS_DURATION=%q: want a duration of at least 30s", durText)
	}
	var seed uint64
	if s := os.Getenv("CHAOS_SEED"); s != "" {
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("CHAOS_SEED=%q: want a whole number", s)
		}
	} else {
		var b [8]byte
		_, _ = rand.Read(b[:])
		seed = binary.LittleEndian.Uint64(b[:]) % 1_000_000
	}
	rate := 3.0
	if s := os.Getenv("CHAOS_RATE"); s != "" {
		if rate, err = strconv.ParseFloat(s, 64); err != nil || rate <= 0 || rate > 50 {
			t.Fatalf("CHAOS_RATE=%q: want logins per second, more than 0 and at most 50", s)
		}
	}
	dir, err := os.MkdirTemp("", "mailproof-chaos-")
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Seed: seed, Duration: dur, Replicas: 3, Rate: rate, Out: os.Stdout, Dir: dir}
	start := time.Now()
	phases := runSuite(t, cfg)
	failed := report(os.Stdout, cfg, phases, time.Since(start))
	for _, f := range failed {
		t.Error(f)
	}
	if t.Failed() {
		t.Logf("the replicas' logs are kept in %s", dir)
		return
	}
	_ = os.RemoveAll(dir)
}
