// Package chaos is mailproof's chaos suite: real `mailproof serve` replicas,
// a real redis-server with AOF (and, in a second phase, a real Sentinel set),
// the tenant emulator in this process, a load generator that logs users in
// and delivers their post-login events the way the Action does, and a fault
// schedule drawn from one seed. At the end it lets the system drain and
// prints one table of what happened, counted from the emulator and the load
// generator (the ground truth), not from mailproof's own answers.
//
// It runs as a test that skips unless asked for:
//
//	make chaos                                  # the full run (10 minutes)
//	make chaos CHAOS_SEED=42 CHAOS_DURATION=2m  # replay one seed, shorter
//
// The README's "Chaos suite" section says what each row means and which rows
// must be 0.
package chaos
