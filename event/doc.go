// Package event owns the post-login event as it crosses the wire: its type (Auth0's own
// event object, trimmed, with Auth0's field names), the strict decoder that turns a
// verified body into it (Decode), the job payload the receiver queues (AppendJobPayload),
// and the rules for the values that come from outside and end up in keys and logs: the
// one user-id check (CheckUserID), the one email comparison form (NormalizeEmail,
// SameEmail) and the one masker (MaskEmail).
//
// eventtest holds the realistic fixtures of testdata/events and ways to vary them, for
// every package's tests.
//
// It imports only the standard library, and nothing of mailproof.
package event
