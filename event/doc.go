// Package event owns the rules about a post-login event that every layer of mailproof
// must apply the same way. Today that is the email address: the one comparison form
// (NormalizeEmail, SameEmail) the policy, the store and the fresh read all use, and the
// one masked form (MaskEmail) logs and error messages show.
//
// It imports only the standard library, so handlers, store, auth0client and the CLI can
// all depend on it without a cycle: two copies of a rule like these drift apart, and ours
// already had.
package event
