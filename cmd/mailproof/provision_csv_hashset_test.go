package main

import (
	"math"
	"testing"
)

func TestHashSet(t *testing.T) {
	tests := []struct {
		name string
		want int64 // the size hint
		n    uint64
	}{
		{name: "unknown size grows", want: -1, n: 5000},
		{name: "sized, no growth", want: 5000, n: 5000},
		{name: "sized low, grows", want: 10, n: 5000},
	}
	for _, tc := range tests {
		s := newHashSet(tc.want)
		size := len(s.slots)
		// Multiples of a large odd constant: spread over the whole 64-bit range.
		h := func(i uint64) uint64 { return i * 0x9E3779B97F4A7C15 }
		for i := range tc.n {
			if !s.add(h(i)) {
				t.Fatalf("%s: hash %d reported as already there", tc.name, i)
			}
		}
		for i := range tc.n {
			if s.add(h(i)) {
				t.Fatalf("%s: hash %d added twice", tc.name, i)
			}
		}
		if s.n != int(tc.n) {
			t.Errorf("%s: %d hashes, want %d", tc.name, s.n, tc.n)
		}
		if tc.want >= int64(tc.n) && len(s.slots) != size {
			t.Errorf("%s: grew from %d to %d slots", tc.name, size, len(s.slots))
		}
	}
	s := newHashSet(0)
	for _, h := range []uint64{0, 1, math.MaxUint64} {
		s.add(h)
	}
	if s.add(0) || s.add(1) || s.n != 2 || !s.add(2) {
		t.Errorf("0 and 1 are one entry: %d entries", s.n)
	}
}
