// Package proof owns what decides and carries out a flip of email_verified.
//
//   - The policy (policy.go): one table of named rules, each checked wherever it can be:
//     on the queued login event, on Auth0's user as a fresh read returns it just before
//     the flip, and when a user is registered as pending. Change the policy there.
//   - The Processor (processor.go): one job's decision, the claim, the fresh read, the
//     flip, the check of its answer and the undo of a flip that landed on an address
//     nobody proved (store/doc.go, "Flipping only the proven address", has the argument).
//   - The Worker (worker.go, defer.go, scopehold.go): the loops of one replica, with
//     retries, backoff, deferrals, dead letters, the undo list, and the pause while
//     Auth0 refuses calls for want of a Management API scope, configured by
//     WorkerConfig. Here is where a job is retried.
//   - The reconcile sweep (sweep*.go): finds, on Management API data, the logins whose
//     webhook never arrived and queues each as a job. See below.
//   - Provisioning (provision.go, provision_scope.go): the order of create, register
//     and deliver, and not asking Auth0 again per row for a call it refused for want of
//     a scope.
//
// It imports event, store and auth0client; never handlers or server.
//
// # The reconcile sweep
//
// The Action fails open: when mailproof cannot be reached, the login goes on and its
// event is gone. The sweep (Sweeper) catches such a login later. It never flips
// anything itself: it finds candidates and queues each as a job (store.Ingest, like a
// login, under the id reconcile:<user>:<last change>, so overlapping runs and replicas
// queue a find once), and the worker judges the job on the same rules table and flips it
// on the same claim, fresh read, PATCH and answer check as a login's. A webhook job and a
// sweep job for one user share the claim, so one of them PATCHes and the other finds
// the record verified.
//
// Finding candidates costs calls in proportion to what changed, not to the number of
// pending users:
//
//   - search path (up to SweepConfig.ExportAbove pending records): the user search
//     _exists_:app_metadata.mailproof AND (last_login:[a TO b] OR updated_at:[a TO b])
//     over the range since the previous run (less SweepConfig.Overlap, which covers the
//     index's lag), in windows of at most 1,000 results (search's cap), 100 a page;
//   - export path (above it): one user export job with only the fields the rules read
//     (auth0client.ExportFields), polled, then streamed and compared with Redis in
//     batches: a handful of calls whatever the tenant's size, memory flat.
//
// Each find with a pending record is judged first on what the search or export showed
// (EvaluateSweep): a terminal rule (already verified, another address) queues a job that
// closes the record without a call; a missing reset or a missing login after it needs
// nothing until the person acts, and is only counted; what remains is queued for a fresh
// read and perhaps a flip. The search index and the export lag behind Auth0, which is
// acceptable for finding candidates because the fresh read decides: an address changed
// since is changed_since_event, a user deleted since is user_not_found.
//
// One replica sweeps at a time: the lock (store.AcquireSweep) has a lease renewed every
// third of it, and losing it stops the run. The cursor (how far in the range, or which
// export job and line) is saved after each window or batch, only by the lock's holder,
// so a replica that dies mid-run leaves it for the next to resume, not restart.
//
// # What the sweep cannot see
//
// A post-login event names the authentication methods; a user profile does not. The
// sweep cannot check "the login used the password" (wrong_method), so it asks instead
// for a password reset after provisioning (last_password_reset) and a login after that
// reset (last_login; else no_login_since_reset), on the provisioned database
// connection. For the users mailproof provisions that is the same proof: they are
// created with a random password nobody knows, so the only way to a password is the
// reset link sent to the mailbox (or a ticket given to the person), and a database
// connection's first factor is that password; a passkey or any other factor can only
// be enrolled after such a login. What it cannot tell apart, the webhook path cannot
// either: an administrator who sets a password through the Management API also moves
// last_password_reset, and a login with that password passes both paths' rules; do not
// hand out passwords to users you want mailproof to verify.
package proof
