// Package proof owns what decides and carries out a flip of email_verified.
//
//   - The policy (policy.go): one table of named rules, each checked wherever it can be:
//     on the queued login event, on Auth0's user as a fresh read returns it just before
//     the flip, and when a user is registered as pending. Change the policy there.
//   - The Processor (processor.go): one job's decision, the claim, the fresh read, the
//     flip, the check of its answer and the undo of a flip that landed on an address
//     nobody proved (store/doc.go, "Flipping only the proven address", has the argument).
//   - The Worker (worker.go, defer.go): the loops of one replica, with retries,
//     backoff, deferrals, dead letters and the undo list, configured by WorkerConfig.
//     Here is where a job is retried.
//
// It imports event, store and auth0client; never handlers or server.
package proof
