package main

import "math/bits"

// hashSet is a set of 64-bit hashes in one flat table of 8-byte slots, open addressing
// with linear probing, at most 3/4 full: sized from the file's row estimate it costs
// under 11 bytes a row (10.7 MB for a million), where a Go map[uint64]struct{} takes
// about 38 (BenchmarkRowReader).
type hashSet struct {
	slots []uint64 // 0 is an empty slot
	n     int
}

// newHashSet sizes the table for want hashes without growing; want < 1 is unknown.
func newHashSet(want int64) *hashSet {
	return &hashSet{slots: make([]uint64, max(want*4/3+1, 1024))}
}

// add puts h in the set and reports whether it was new. A hash of 0 is stored as 1:
// one more pair of colliding values among 2^64.
func (s *hashSet) add(h uint64) bool {
	if h == 0 {
		h = 1
	}
	// The high half of h times the size spreads h over any size, a power of two or not.
	i, _ := bits.Mul64(h, uint64(len(s.slots)))
	for {
		switch s.slots[i] {
		case h:
			return false
		case 0:
			if (s.n+1)*4 > len(s.slots)*3 {
				s.grow()
				return s.add(h)
			}
			s.slots[i] = h
			s.n++
			return true
		}
		if i++; i == uint64(len(s.slots)) {
			i = 0
		}
	}
}

// grow doubles the table: only when the row estimate was low, or unknown for a pipe.
func (s *hashSet) grow() {
	old := s.slots
	s.slots, s.n = make([]uint64, 2*len(old)), 0
	for _, h := range old {
		if h != 0 {
			s.add(h)
		}
	}
}
