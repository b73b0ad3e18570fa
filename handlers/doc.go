// Package handlers owns what each request or job means: webhook ingestion, the admin
// API, the ops endpoints, the post-login event type and the policy that decides whether
// a login proves mailbox access.
//
// The webhook's trust boundary lives here too: Standard Webhooks signature verification
// (webhook.Verifier), the matching signer (webhook.Sign) used by the CLI and the tests, and the strict
// decoder for the post-login event (event.Decode). Nothing in a request body is
// parsed before its signature has been checked.
package handlers
