package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/mailproof/mailproof/server"
)

const envPrefix = "MAILPROOF_"

// Variables with these prefixes are read by tests and benchmarks only
// (MAILPROOF_TEST_REQUIRE_REDIS, MAILPROOF_BENCH_USERS, ...): a developer's shell may
// hold them, and mailproof has nothing to say about them.
const (
	testEnvPrefix  = "MAILPROOF_TEST_"
	benchEnvPrefix = "MAILPROOF_BENCH_"
)

// knownEnv is every MAILPROOF_* variable mailproof reads or tells people to set: serve's
// settings, NAME_FILE beside each secret one (server.LookupEnv), and MAILPROOF_URL,
// which local exports for `sign --curl $MAILPROOF_URL`.
func knownEnv() []string {
	var names []string
	for _, s := range server.Settings() {
		names = append(names, s.Name)
		if s.Secret {
			names = append(names, s.Name+"_FILE")
		}
	}
	return append(names, "MAILPROOF_URL")
}

// unknownEnv returns a warning for each MAILPROOF_* variable in environ ("NAME=value"
// entries, as os.Environ gives them) that mailproof does not read, naming the closest
// known variable when one is close enough to be the one meant. A misspelt variable is
// otherwise silently ignored and its default used.
func unknownEnv(environ []string) []string {
	known := knownEnv()
	var unknown []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, envPrefix) || strings.HasPrefix(name, testEnvPrefix) || strings.HasPrefix(name, benchEnvPrefix) ||
			slices.Contains(known, name) || slices.Contains(unknown, name) {
			continue
		}
		unknown = append(unknown, name)
	}
	slices.Sort(unknown)
	var warnings []string
	for _, name := range unknown {
		w := name + " is set, but mailproof reads no such variable"
		if near := closestName(name, known); near != "" {
			w += "; did you mean " + near + "?"
		} else {
			w += " ('mailproof serve --help' lists them)"
		}
		warnings = append(warnings, w)
	}
	return warnings
}

// warnUnknownEnv prints unknownEnv's warnings on w. A warning is not a failure: the
// command runs as it would without the variable.
func warnUnknownEnv(environ []string, w io.Writer) {
	for _, msg := range unknownEnv(environ) {
		fmt.Fprintln(w, "mailproof: warning:", msg)
	}
}

// closestName returns the name in known nearest to name by edit distance over the part
// after MAILPROOF_, the first in known's order on a tie. A candidate that differs in more
// than half of name's characters is a guess, not a typo, and left out, unless one of the
// two is the other plus words (REDIS for REDIS_URL). "" when none is left.
func closestName(name string, known []string) string {
	suffix := strings.TrimPrefix(name, envPrefix)
	best, bestDist := "", math.MaxInt
	for _, k := range known {
		ks := strings.TrimPrefix(k, envPrefix)
		d := editDistance(suffix, ks)
		if d > len(suffix)/2 && !strings.HasPrefix(ks, suffix+"_") && !strings.HasPrefix(suffix, ks+"_") {
			continue
		}
		if d < bestDist {
			best, bestDist = k, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b: the fewest single-byte
// insertions, deletions and substitutions that turn one into the other.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
