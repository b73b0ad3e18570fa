// Package webhook owns the Standard Webhooks scheme mailproof's post-login Action signs
// with and the receiver checks: the keys (whsec_ HMAC secrets, whpk_ and whsk_ ed25519
// public and private keys) and new ones (NewSecret, NewKeyPair, for the CLI's keygen),
// signing (Sign, the CLI's sign and the tests), verification (Verifier) with its
// freshness window, and the grammar of the webhook-id, webhook-timestamp and
// webhook-signature headers. testdata/signature-vectors.json holds the published
// vectors; the Action's Node tests read the same file.
//
// Verification works on the exact bytes received: nothing is parsed before the
// signature holds, and MACs are compared in constant time. Errors never repeat header
// values or keys.
//
// It imports only the standard library, and nothing of mailproof.
package webhook
