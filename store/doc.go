// Package store owns everything mailproof keeps in Redis: pending records,
// the webhook replay guard, the job queue with its delayed retries and dead
// letters, the audit trail, and the Management API rate budget shared by all
// replicas. Receivers and workers are stateless; this package is the state.
//
// # Keys
//
// Every key starts with "mp:{mp}:". Identifiers that come from outside (user
// ids, webhook ids) never appear raw in a key: they are base64url-encoded
// without padding (written <enc> below), so an id like `auth0|x}:{mp}:jobs`
// or one containing a newline can neither forge another key nor move to
// another slot. As a hash field or a sorted-set member an id is kept raw:
// those are binary-safe and name no key. Times are Unix milliseconds
// everywhere.
//
//	key                           type    TTL                       holds
//	mp:{mp}:records:<shard>       HASH    none (records deleted     the records of the users of one shard (256
//	                                      by the tidy pass at       shards by FNV-1a of the user id): field = the
//	                                      their end of life)        raw user id, value = the record packed
//	                                                                (lua/record.lua): status (one letter),
//	                                                                provisioned_at, email (normalized),
//	                                                                expires_at, connection (empty: the default
//	                                                                one, else '=' and the name), created_at,
//	                                                                updated_at, outcome, holder, delivery,
//	                                                                delivered_at, deliveries, delivering_at,
//	                                                                joined by \x1f, times base 36, empty ones
//	                                                                at the end left out
//	mp:{mp}:pending:<enc user>    HASH    the record's end of life  a record in the layouts before packed ones:
//	                                                                compact (s status, e, c, p, x, a, u, o, h,
//	                                                                d, t, n, g; nothing for what is empty or
//	                                                                implied) or long (user_id, email, ...,
//	                                                                status). Read beside the field; written only
//	                                                                in the hash layout (WithRecordLayout); the
//	                                                                first packed write of a record deletes it
//	mp:{mp}:layout                STRING  none                      the record layout the last explicit choice
//	                                                                (or the first replica on an empty Redis)
//	                                                                settled on: packed or hash
//	mp:{mp}:tidy                  STRING  1h                        the tidy pass's lease: the replica that
//	                                                                deletes records past their end of life now
//	mp:{mp}:waiting:<shard>       ZSET    none                      the pending index: member the user id, score
//	                                                                provisioned_at: records waiting for proof,
//	                                                                for listing and counting; the record
//	                                                                shards' 256 shards, merged when read
//	mp:{mp}:pending-index         ZSET    none                      the pending index of the release before
//	                                                                (member <enc user>): read beside the shards,
//	                                                                written in the hash layout only; an entry
//	                                                                leaves it when its record is written packed,
//	                                                                ends or is found stale
//	mp:{mp}:seen:<window>:<shard> SET     the window's end plus     replay marks: the 64-bit fingerprints
//	                                      IngestRequest.ReplayTTL   (SHA-256 prefix) of webhook ids first taken
//	                                                                in during that 5-minute window (<window> =
//	                                                                Unix ms / 300000), 1024 shards by the
//	                                                                fingerprint's top bits (see "Memory")
//	mp:{mp}:replay:<enc webhook>  STRING  IngestRequest.ReplayTTL   the replay mark of the layout before window
//	                                                                sets: never written now, still honoured
//	                                                                until its TTL ends
//	mp:{mp}:jobs                  STREAM  none (entries deleted     jobs: user_id, webhook_id, payload (retried
//	                                      when finished)            jobs: payload_b64), attempt, enqueued_at,
//	                                                                last_error, deferrals and defer_reason (the
//	                                                                deferral episode; absent = none); consumer
//	                                                                group "workers"
//	mp:{mp}:delayed               ZSET    none                      jobs waiting to be retried: score = due time,
//	                                                                member = the job as JSON (built by Lua's cjson;
//	                                                                payload_b64 keeps the payload binary-safe),
//	                                                                the same fields as the stream entry
//	mp:{mp}:dlq                   STREAM  capped MAXLEN ~ 10k       dead letters: the job fields plus job_id,
//	                                                                last_error, failed_at
//	mp:{mp}:replayed:<enc dlq id> STRING  1h                        the job id ReplayDLQ made of that dead
//	                                                                letter, so a second run returns it
//	mp:{mp}:audit                 STREAM  capped MAXLEN ~ 100k      every decision: time, user_id, outcome,
//	                                                                webhook_id, job_id, attempt, error;
//	                                                                defer_reason on a deferred entry; deferrals
//	                                                                and defer_reason on the entry that ends a
//	                                                                deferral episode (malformed_job entries:
//	                                                                user_id "")
//	mp:{mp}:trail:<day>:<shard>   HASH    the day's end plus the    the same entries per user: field = the raw
//	                                      retention (day 0, used    user id, value = that UTC day's entries for
//	                                      when the retention is     the user, oldest first, the last 100 kept:
//	                                      0: none)                  each the global entry's id and its fields
//	                                                                but user_id, compacted (lua/audit.lua);
//	                                                                <day> = Unix ms / 86400000, 256 shards by
//	                                                                FNV-1a of the user id
//	mp:{mp}:audit:<enc user>      STREAM  retention; MAXLEN 100     one user's entries in the layout before
//	                                                                trails: never written now, read beside the
//	                                                                trail until it expires
//	rate:mp:{mp}:ratelimit        STRING  until the budget is full  the shared GCRA budget's theoretical arrival
//	                                                                time (redis_rate prefixes its keys "rate:")
//	mp:{mp}:ratelimit-pause       STRING  until the pause ends      "no Management API call before" (ms)
//	mp:{mp}:emails:<week>:<shard> HASH    the week's end            the email index: field = the fingerprint
//	                                      (week 0: none)            (SHA-256 prefix, an integer) of a normalized
//	                                                                address, value = the user id of the record
//	                                                                holding it, for the records whose keys expire
//	                                                                in <week> (Unix ms / 604800000 + 1; 0 =
//	                                                                never), 1024 shards by the fingerprint's top
//	                                                                bits: provisioning finds its own users by it
//	                                                                without asking Auth0
//	mp:{mp}:email-weeks           ZSET    none                      the weeks with email index hashes (member =
//	                                                                score = <week>); past weeks are dropped as
//	                                                                records are written
//	mp:{mp}:email:<enc address>   STRING  as the record             the email index of the layout before shards
//	                                                                (the user id): never written now, read
//	                                                                beside the shards until it expires
//	mp:{mp}:idem:<enc key>        HASH    24h                       an admin API answer kept under its
//	                                                                Idempotency-Key: fp, status, body
//	rate:mp:{mp}:authratelimit    STRING  until the budget is full  the Authentication API budget (reset emails)
//	mp:{mp}:authratelimit-pause   STRING  until the pause ends      as ratelimit-pause, for that budget
//	mp:{mp}:ratelimit:high-waiting STRING one slot past the wait    set while a flip waits for the budget:
//	                                                                provisioning (WaitLow) yields to it
//	mp:{mp}:ratelimit:low-waiting STRING  one slot past the wait    set while provisioning waits for the budget:
//	                                                                the sweep (WaitLowest) yields to it
//	mp:{mp}:undo                  HASH    none (fields deleted      flips to take back: field <enc user>, value
//	                                      once done)                JSON {user_id, job_id, webhook_id, check,
//	                                                                since, next_at, attempts, last_error}
//	mp:{mp}:reconcile-lock        STRING  the lease (30s), renewed  the replica sweeping now (SweepState's owner)
//	mp:{mp}:reconcile             HASH    none                      the sweep's cursor (run, path, started_at,
//	                                                                from, to, pos, export_job, line) and history
//	                                                                (last_run, last_path, last_success, last_to)
//	mp:{mp}:reconcile-run:<enc>   STRING  24h                       Management API calls the jobs of one sweep run
//	                                                                made, for its summary
//	mp:{mp}:wait-fence            STRING  1m                        written before each replica WAIT under
//	                                                                WithMinReplicas (see "Replicas"); a timestamp
//
// A job the sweep queued has a webhook id starting "reconcile:" (SourceReconcile) and a
// payload starting {"reconcile": (the user as the sweep found it) where a login's holds
// the event; everything else about it is a job like any other.
//
// # Memory
//
// Redis holds everything in memory under noeviction, so the layout counts
// bytes (BENCHMARKS.md, "Redis memory per user", measures them). A key costs
// about 100 bytes before its value (the dictionary entry, the name, the
// object header, an expiry entry), so what there are many of lives inside
// shared keys:
//
//   - A user's audit trail is one field of a shared trail hash per day it
//     had decisions: about 80 bytes for one entry, 270 for the usual three,
//     instead of a 4 KB stream. Trail hashes expire whole, a retention after
//     their day ends, so no entry is dropped early and none needs a sweep.
//   - A replay mark is an 8-byte integer in a set of a few hundred (Redis
//     keeps such a set as a sorted array, an intset, while it holds at most
//     set-max-intset-entries, 512 by default; at 1,000 events/s a set holds
//     about 300). A busier receiver, or that setting lowered, turns sets
//     into hash tables of about 60 bytes a mark: still correct, and still a
//     third of one key per mark. The marks of one window expire together,
//     so a mark lives between its TTL and its TTL plus a window.
//   - A pending record is one field of a shared record hash (its packed
//     value and the user id as the field name: about 75 bytes while the
//     hash is a listpack, that is while it holds at most
//     hash-max-listpack-entries records, 512 by default, so up to about
//     130,000 in all, and no value passes hash-max-listpack-value, 64 bytes,
//     an address of up to about 40 characters), an entry in its shard of
//     the pending index (about 50 while a shard holds at most
//     zset-max-listpack-entries, 128 by default, so up to about 32,000
//     waiting records; 512 there keeps it so up to 130,000) and a field of a
//     shared email index hash (about 50): about 160 bytes in all, where a
//     hash of its own per record cost 375. Past those limits Redis turns a
//     shard into a hash table or a skip list, about 50 to 90 bytes more a
//     record: still correct.
//     A hash field cannot expire in Redis 7.0, so the tidy pass
//     (TidyRecords, run by the worker under a one-hour lease) deletes the
//     records whose end of life has passed: the retention after they were
//     verified or closed (updated_at), or after their expires_at. It reads
//     each record inside the script that deletes it, so a record written
//     again meanwhile is judged as it is now.
//     The email index hashes expire whole, at the end of the week their
//     records' ends of life fall in, so an entry never outlives its record
//     by more than a week and none needs a sweep.
//
// Every new layout is read alongside the layout it replaced, so an upgrade in
// place loses nothing: the old replay marks count until their TTL ends, the
// old per-user streams and email index keys are read until they expire with
// the retention, the one pending index is read beside its shards, records
// of both hash layouts are read as they are, and nothing needs migrating. A
// script that writes a record (claim, finish, dead letter, delivery, put)
// reads it in whichever layout it has and writes it in the layout chosen,
// removing the other copy, inside one script and after its checks, so the
// checks read what the old fields held and a record is in one place after
// every write.
//
// Replicas of the release before read only its own hash layout and its one
// pending index: a record written packed is missing to them (their receiver
// answers not_pending to the login and marks it seen, their worker acks the
// job unprocessed, their delete leaves the packed record in place). So the
// layout is a choice (WithRecordLayout, MAILPROOF_RECORD_LAYOUT): hash writes
// what that release reads, with the expiry it set, while any of its replicas
// may run; packed writes the small layout. Auto, the default, follows the
// choice recorded in mp:{mp}:layout; without one it is hash on a Redis an
// earlier release used (its job stream is there) and packed on an empty one,
// where it records packed before the job stream exists (EnsureGroup), so no
// later replica mistakes it for an earlier release's. An explicit choice is
// recorded, and auto replicas take it up within a minute. Replicas of this
// release with different choices never lose a record: both read both
// layouts.
//
// # One hash tag
//
// The {mp} hash tag puts every key in the same Redis Cluster slot. That is
// what keeps the Lua scripts legal on a Cluster: Ingest touches replay-mark
// sets, a record and the job stream; Finish a stream, a record, the index,
// the audit stream and a trail hash; and Cluster only runs a script whose keys share a slot. One
// slot means one shard does all of mailproof's work, which is fine: the load
// is one small script per login of a not-yet-verified user, a few thousand
// per second at most, well within a single Redis node. Sharding by user would
// buy nothing and cost the atomicity the design relies on.
//
// # Connecting
//
// Open reads one URL and picks the deployment from it, in this order:
//
//   - unix:///path/redis.sock?db=N: a single node on a Unix socket.
//   - redis-sentinel://… or rediss-sentinel://…: Sentinel; master_name is
//     required, and the rest reads as the redis:// (rediss://) form below.
//   - redis://… or rediss://… with master_name: Sentinel, as
//     redis.ParseFailoverURL reads it. The host and every addr parameter are
//     sentinels (give their port: the default is 6379, not 26379); the
//     userinfo authenticates to the sentinels, the username and password
//     parameters to the master and replicas; rediss:// uses TLS for both.
//     go-redis asks the sentinels for the master and follows failovers:
//     redis://:sentinelpw@s1:26379/0?master_name=mymaster&addr=s2:26379&addr=s3:26379&password=masterpw
//   - redis://… or rediss://… with addr: Cluster, as redis.ParseClusterURL
//     reads it; the host and every addr are seed nodes (give at least two, so
//     one being down does not stop a start), the userinfo authenticates to
//     every node, and the path may only be empty or /0:
//     redis://:pw@n1:6379?addr=n2:6379&addr=n3:6379
//   - redis://… or rediss://… otherwise: a single node (redis.ParseURL):
//     redis://:pw@host:6379/0
//
// Any other go-redis option goes in the query (dial_timeout=3s,
// max_retries=2, ...); an unknown one is an error. A URL that fits none of
// these is an error naming the wrong part: the scheme, an addr that is not
// host:port, a missing or empty master_name, a database other than 0 on a
// Cluster. mailproof's short timeouts (dial 2s, read and write 1s, one
// retry) apply to all three unless the URL sets them. Every key shares one
// slot, so on a Cluster the Lua scripts, pipelines and streams all run on
// the shard that owns {mp}; ReadSettings reads that shard's configuration.
// When a node stops answering, the Cluster client re-reads the slot map at
// once (reloadOnFailure), so a failover of that shard is followed in
// seconds. The store's tests run on all three, each started for real by
// redistest (the backends of conformance_test.go).
//
// Whatever the deployment, Redis must not evict keys: Settings.CheckEviction
// refuses any maxmemory-policy but noeviction. Redis must also persist with
// AOF for an acknowledged event to survive a restart; ReadSettings and
// Settings.Loss tell what a given configuration keeps, and serve refuses a
// Redis without AOF unless the operator accepted the loss. After an empty
// restart the worker recreates its consumer group, and the replay guard and
// pending records are lost with the rest (a lost record means a user is not
// verified automatically, never a wrong verification); a lost undo, though,
// leaves a flip on an address nobody proved standing.
//
// # Records
//
// A record is written pending by PutPending. Its status moves:
//
//	pending --Claim(holder)--> verifying --Finish(verified, Close)--> verified
//	pending, or verifying by this holder --Finish(other code, Close)--> closed
//	verifying --Finish(not Close) or DeadLetter by the holder--> pending
//	pending past expires_at reads as expired (WithPendingTTL)
//
// Expiry marks rather than deletes: an expired record still shows (status
// expired) until expires_at plus the retention, and takes no events or
// claims. Verified and closed records leave the index and live for the
// retention, so an operator can see what happened. Then the tidy pass (or,
// for a record in the hash layout, its key's expiry) deletes them.
//
// # Ingest
//
// Ingest is the receiver's only Redis call: one script that checks the
// record is pending (or being verified by another event, which may still
// fail), marks the webhook id as seen and XADDs the job,
// atomically, so a crash can neither lose an event nor queue it twice.
// The mark is the webhook id's fingerprint added to its shard's set for the
// current window; the event is a replay when the fingerprint is in any
// window its TTL still covers, or has an old-layout mark key. An
// event whose XADD fails leaves no mark. Ingester coalesces concurrent
// Ingest calls into one call of the same script (group commit), in which
// each event keeps its own outcome. Under load a call goes out once eight
// events wait, or after 500 µs while none of ours is in Redis, and up to two
// are in flight, so Redis works while the receiver does without paying a
// round trip for one or two events.
//
// # Replicas
//
// Redis replicates asynchronously: a write the master acknowledged is lost when the
// master dies before a replica has it and that replica is promoted. WithMinReplicas
// (MAILPROOF_REDIS_MIN_REPLICAS) closes that window for the writes that acknowledge
// something: the ingest (the 202 the receiver answers), the worker's outcomes (finish,
// retry, defer, dead letter, drop), the undo records and a replayed dead letter. Each
// runs as script, fence, WAIT n on one connection to the master (runScript), and fewer
// than n confirmations within what is left of the caller's deadline is ErrReplicas.
//
// ErrReplicas means the master applied the write and it may or may not survive. Every
// caller treats it as "not done", and that is safe because a second attempt is:
//
//   - an ingest retried with the same webhook id finds the replay mark where the first
//     write survived (duplicate: nothing queued twice; its own WAIT, after the fence,
//     confirms the first write before it answers), and queues the event where the
//     first write was lost with the old master;
//   - a job whose outcome write was lost is still pending in the group on the promoted
//     replica (its delivery replicated before the outcome) and is reclaimed after the
//     visibility timeout; the worker runs it again, and its fresh read of the user
//     before any PATCH finds email_verified already true (already_verified: no second
//     PATCH). Where the outcome survived, the entry is gone and nothing runs again.
//
// Claim's lock and MoveDue need no WAIT of their own: a lost lock or move is redone by
// the job that needed it, and the outcome's WAIT, after them on the same master, covers
// them too. Provisioning (PutPending, the delivery notes) does not wait: a record lost
// with the master before it replicated reads as absent, so the user's login answers
// not_pending; provisioning the user again restores it.
//
// # The job queue
//
// Workers read the stream through the consumer group "workers" (Read); jobs
// a dead worker held are taken over after a visibility timeout (Reclaim,
// XAUTOCLAIM). Reclaim keeps XAUTOCLAIM's cursor in the Redis value between
// calls (per process, not in Redis: losing it only restarts the walk), so
// every pending entry is reached however long the pending list is. Every way a job leaves the stream is one script that also
// XACKs and XDELs it, and does nothing if the job was already acknowledged,
// so a job finished twice (two workers after a reclaim) counts once:
//
//   - Finish records the outcome on the record and in the audit trail.
//   - Retry parks the job in the delayed set with attempt+1; MoveDue (any
//     replica, any number at once) moves due jobs back to the stream.
//   - Defer parks it the same way with the same attempt: the job was told
//     to wait (429, another event holding the user's lock, a saturated
//     budget), which must not use up its attempts. The worker bounds
//     deferral by age since enqueued_at (24h), then dead-letters.
//   - DeadLetter keeps it in the capped dead-letter stream; ReplayDLQ puts
//     it back as a fresh job. It refuses an entry without user_id (MoveDue
//     dead-letters an undecodable delayed job that way) with
//     ErrMalformedJob, and is idempotent for an hour through the replayed
//     mark: a re-sent script or a second run returns the same new job id.
//   - DropMalformed acknowledges a job without user_id (nothing can claim,
//     finish or dead-letter it) and audits it as malformed_job.
//
// # Deferral episodes
//
// A job told to wait may be deferred every few seconds for as long as
// another event holds its user's lock. Audited each time, one such job
// pushed the entries that explain the user's state out of the 100-entry
// per-user trail (now 100 a day) within minutes. So the run of deferrals between two other
// decisions about a job is one episode, and it travels in the job itself
// (deferrals, defer_reason in the stream entry and the delayed member):
// the episode's first Defer writes one "deferred" entry with its reason,
// later ones only count, and the Finish, Retry or DeadLetter that ends it
// writes deferrals and the last defer_reason on its own entry (shown as
// "deferred ×37 (user_busy)"); a Retry parks the job with none. All of it
// happens inside the scripts that move the job, so a job deferred twice by
// two workers after a reclaim still counts once. A job queued before these
// fields existed reads as outside any episode. Metrics still count every
// deferral; the trail counts episodes.
//
// # Exactly one PATCH
//
// Before the worker PATCHes a user it calls Claim with the job's Owner (its
// webhook id): pending becomes verifying, held by that event. Two jobs for
// one user therefore PATCH once: the second Claim is refused. The lock is
// not a lease: it stays with the event across retries (the owner id is
// stable), and only Finish or DeadLetter by the owner releases it, so it
// cannot time out from under a slow worker.
//
// A worker can die after its PATCH and before Finish. Redis then still holds
// the job un-acked and the record verifying, owned by that event; the
// reclaiming worker's Claim succeeds (same owner), and it does the work
// again. We accept that second PATCH instead of trying to prevent it: setting
// email_verified to true on a user that already has it is idempotent at
// Auth0, and preventing it would need a two-phase record in Auth0 itself.
// The reclaiming worker's fresh Management API read will usually find
// email_verified already true; since it holds the claim, that means the
// earlier attempt's PATCH landed, and it should Finish with verified. The
// cost is at most one extra Management API call and, in metrics, a verified
// count that can include such a repeated attempt; the record and the audit
// trail still say verified once (a second Finish is a no-op).
//
// # Flipping only the proven address
//
// The person behind the login can change their address at any moment, any
// event can arrive twice or late, and Auth0's PATCH /api/v2/users/{id} has
// no condition (no ETag, no If-Match): it sets email_verified on whatever
// address the user holds when it lands. The invariant is: mailproof never
// leaves email_verified true on an address other than the provisioned one.
// It holds by these steps, each of which sees the address at a later
// moment:
//
//  1. The event's email must equal the record's (email_changed).
//  2. The fresh read, after the claim, must show the record's address,
//     unverified (changed_since_event).
//  3. The read and the PATCH take their budget together, before the read
//     (Limiter.WaitN), so nothing waits between them: the window left is
//     one Management API round trip, not a budget interval (it was a
//     median 2 s at 2 calls/s).
//  4. The PATCH answer is the user as the write left it. If it shows
//     another address, the write landed after a change: the flip is taken
//     back. The undo is listed here (mp:{mp}:undo) before Auth0 is called,
//     so a crash from then on cannot lose it; then PATCH
//     {"email_verified": false} is sent at once, outside the budget; the
//     job ends changed_during_flip and the record is closed. A listed undo
//     is retried by every worker loop before it takes a job, with backoff,
//     and never given up (mailproof_flip_undos_total, an alert).
//  5. A change that lands after the PATCH cannot leave the flag on the new
//     address: Auth0 sets email_verified false when the address changes,
//     unless the application that changes it says otherwise. An
//     application that marks an address verified itself is trusted for
//     that address, not mailproof.
//  6. A worker that dies between its PATCH and the answer check leaves the
//     record verifying, held by its event. The reclaiming attempt holds
//     the same claim, reads the user, and treats email_verified true on
//     another address as its own possible write: taken back (fail closed:
//     it may also clear a flag an application set at that moment, which
//     the error log names). A job that gives up after a PATCH whose answer
//     never came leaves a check undo: a later read decides, and takes the
//     flag back only when it sits on another address.
//
// What is left is the round trip of step 4 plus the undo's: a token issued
// in those milliseconds can carry email_verified true for the new address.
// Sending the provisioned email in the PATCH would close that gap but
// silently revert the person's own change, a lost update mailproof has no
// right to make; no conditional write exists, so this is as close as the
// Management API allows.
package store
