// Package auth0test is an Auth0 tenant emulator: a real HTTPS server that
// speaks the Authentication and Management API paths, status codes, error
// bodies and rate-limit headers mailproof relies on, so the real go-auth0
// client runs against it unchanged. Tests and `mailproof local` both use it.
//
// Endpoints: POST /oauth/token (client credentials for the Management API;
// the password-realm grant for a person's login, with an RS256 ID token
// whose key is at /.well-known/jwks.json), POST
// /dbconnections/change_password (limited per IP address and email, as at
// Auth0), the reset page GET/POST /u/reset-password?ticket=…, and under
// /api/v2/: users (create, read, update, delete, and list or search),
// users-by-email, connections (list, by name), tickets/password-change,
// jobs/users-exports and jobs/{id}, actions and trigger bindings; and the
// export files those jobs link to, under /user-exports/.
//
// Hooks on Tenant let a driver act where a person or Auth0 would:
//   - seed and read users: AddUser, User, UsersByEmail, CheckPassword;
//     ConnectionID for a connection's con_… id;
//   - read the mail the tenant sent: Outbox, LastEmailTo, SentTo,
//     ResetOutbox;
//   - complete a password reset: FollowResetLink (sets the password, as
//     the reset page does), CompleteTicket and ResetPassword (shortcuts
//     that leave the stored password alone);
//   - log in: Login (a browser login), or POST /oauth/token with the
//     password-realm grant; OnLogin runs a Go function on each login with
//     the post-login event an Action would get, and Logins lists them;
//   - change a user's email at a chosen moment of a client's calls:
//     ScheduleEmailChange, ChangeEmailAfter, ChangeEmail;
//   - shape the traffic: SetRate, Inject and ClearFaults (latency, 5xx,
//     429, hangs, dropped connections), RevokeTokens;
//   - inspect the traffic: Calls, CountCalls, ResetCalls; Action and
//     Bindings for deployed Actions.
//
// # User search
//
// GET /api/v2/users takes q, search_engine (v3, the default), page
// (0-based), per_page (at most 100, default 50), include_totals (true
// wraps the page as {"start","limit","length","users","total"}; otherwise
// a bare array), sort (field:1 or field:-1; default created_at ascending,
// then user_id), fields, include_fields and primary_order (accepted,
// ignored). Only the first 1,000 results of a query can be paged through:
// a page reaching past them (page*per_page + per_page > 1000, the stricter
// reading, which equals page*per_page >= 1000 whenever per_page divides
// 1000) is a 400 with Auth0's message "You can only page through the first
// 1000 records. See …" and errorCode invalid_paging.
//
// The q parameter understands this subset of Auth0's Lucene syntax. mailproof's
// reconcile sweep sends one form, sorted by updated_at:1, 100 a page:
//
//	_exists_:app_metadata.mailproof AND (last_login:[2026-12-05T01:00:00.000Z TO
//	2026-12-05T01:59:59.999Z] OR updated_at:[… TO …])
//
// The subset:
//
//	email:ada@example.com            a term: the field's whole value
//	name:"ada lovelace"              a phrase
//	name:Ada\ Lovelace               backslash escapes any character
//	email_verified:false             booleans; logins_count:3 numbers
//	last_login:[2026-12-01T00:00:00.000Z TO *]
//	                                 ranges: [ ] inclusive, { } exclusive,
//	                                 * open; a date bound may be partial
//	                                 (2026, 2026-12, 2026-12-01,
//	                                 2026-12-01T10:30) and names the whole
//	                                 period: [2026-12 TO 2026-12] is December
//	created_at:2026-12-01            a date term is the period it names
//	_exists_:last_login              the field has a value (also last_login:*)
//	user_id:auth0*  email:*example.org
//	                                 wildcards: * only; a leading one needs
//	                                 three other characters; ? is refused
//	NOT, AND, OR, ( )                in capitals; name:(ada OR alan) too
//
// Case: email, name, nickname, given_name and family_name (the fields
// Auth0 lists as normalized) match case-insensitively, the name fields by
// word; every other field, metadata included, case-sensitively and whole
// (user_id:auth0 does not find auth0|123). Fields: those and user_id,
// email.domain, identities.connection (and .provider, .user_id),
// email_verified, blocked, logins_count, created_at, updated_at,
// last_login, and app_metadata.<path> and user_metadata.<path>
// (case-sensitive paths, arrays looked through, empty objects and arrays
// and null not indexed).
// A value without a field is matched against the normalized fields, never
// metadata. last_password_reset is not in Auth0's searchable list: a
// clause on it, or on any other field Auth0 does not index, matches
// nobody, as a query on an unindexed field does in a Lucene index; read it
// from the user instead.
//
// Refused with a 400 (message "Query validation error: …", errorCode
// invalid_query_string; the wording is the emulator's): anything
// unparsable, and on purpose what would mean something else at Auth0 or
// is not available there: AND and OR mixed without parentheses (Lucene
// does not give AND precedence), clauses without an operator between them
// (Lucene reads OR), lower-case operators, + - ! prefixes, boosts, fuzzy
// and regular-expression terms, an unescaped ':' inside a value (quote or
// escape timestamps outside ranges), ranges and wildcards on user_metadata
// or booleans, and values that are not a boolean, number or date where the
// field needs one.
//
// The index lags: Config.SearchLag (default 0) is how long a write takes to
// reach it. The tenant keeps each user's versions stamped with the tenant
// clock when they were written, and a search at time now sees the newest
// version written at or before now-SearchLag: a new user is missing, a
// changed one answers its old values (in the body too), a deleted one is
// still found. Reads by id and users-by-email are never stale.
//
// # User exports
//
// POST /api/v2/jobs/users-exports takes connection_id (optional: every
// connection when absent; an unknown con_… id is a 400 "The connection
// does not exist."), format (json or csv), limit (at least 1) and fields
// ([{"name", "export_as"}]; a predefined set when absent) and answers 200,
// as recorded, with the pending job: {"type":"users_export","status",
// "connection_id","format","limit","fields","connection","created_at",
// "id":"job_…"}. The job snapshots the matching users when it is created,
// oldest first. GET /api/v2/jobs/{id} answers it pending for the first half
// of Config.ExportDelay (default 200ms, tenant clock), processing for the
// second, then completed with a location: a link, fresh on each read and
// valid for 60 seconds, to /user-exports/job_…/auth0test.json.gz (or
// .csv.gz) signed like Auth0's CloudFront links (Expires, Key-Pair-Id,
// Signature). The file is gzipped and served without Content-Encoding:
// json is one object per line with the requested fields present on the
// user, in the order asked, under export_as or the name as written
// (app_metadata.mailproof, identities[0].connection); csv is a header row,
// then strings quoted behind a single quote as Auth0 documents. An
// expired or altered link is CloudFront's 403 AccessDenied; the job and
// its links are gone 24 hours after it completed (404 inexistent_job).
// The download is outside /api/v2/: it needs no token and spends no rate
// limit; the jobs endpoints spend it like any Management API call.
//
// # Rate limits
//
// Config.Plan (or SetPlan, at any time) applies the limits of an Auth0 plan
// as token buckets, burst = bucket size and sustained = refill, each created
// full. A request spends the API's own bucket, then its endpoint family's,
// in the order Auth0 evaluates them; the first empty one answers 429 with
// its headers. Every answer of both APIs, errors and injected faults
// included, carries x-ratelimit-limit (the bucket size), -remaining and
// -reset (Unix seconds, rounded up, when the bucket is full again). Limits
// given per second refill every millisecond, per-minute ones every whole
// second, as Auth0's policy page describes.
//
//	plan            Management API                    Authentication API
//	free            2, 2/s                            300, 300/min
//	essentials      user reads 40, 500/min            25, 25/s
//	                user writes 20, 200/min
//	                connection reads 5, 50/min
//	                everything else 10, 150/min
//	enterprise      50, 16/s                          100, 100/s
//	non-production  10, 2/s                           100, 100/s
//	custom          Config.Rate and Burst (50, 50/s)  100, 100/s
//
// On every plan POST /oauth/token also has 30, 30/s, and
// /dbconnections/change_password 10, 1/min per IP address and email
// address, whose headers its answers carry instead. User reads are GET
// under /api/v2/users and /api/v2/users-by-email; user writes POST, PATCH
// and DELETE under /api/v2/users; connection reads GET under
// /api/v2/connections. PlanRate gives the rate MAILPROOF_AUTH0_RATE should
// be on a plan: the slowest bucket mailproof's calls spend (essentials:
// 2.5/s, the everything-else bucket). The custom plan, the default, keeps tests about
// anything else clear of the limits; SetRate puts a tenant on it with a
// Management API bucket of its own size.
//
// Confirmed in Auth0's rate-limit configuration pages (auth0.com/docs,
// troubleshoot/customer-support/operational-policies/rate-limit-policy/
// rate-limit-configurations/: free-public, essentials-professional-b2b,
// enterprise-public; read in the auth0/docs-v2 repository): every number in
// the table; Free's /oauth/token limit; change_password's; the algorithm,
// the refill steps and the order (rate-limit-policy). The Management API's
// 429 body is a real answer's (quoted in auth0-extensions/auth0-reset-tenant
// issue 31).
//
// Assumed, because Auth0 does not say: that /oauth/token's 30/s, listed on
// Free's page only, holds on every plan; that a request refused by its
// endpoint's bucket has spent the API's; that the headers describe the
// refusing bucket, else the most specific one; that Essentials' two Write
// Users rows (POST and PATCH; DELETE) are one bucket and that it has no
// API-wide Management bucket (none is listed); which paths the groups
// cover, as above; that per-minute refill steps count from the bucket's
// creation; the Authentication API's 429 body ({"error":
// "too_many_requests","error_description":"Too Many Requests"}). Not
// modelled: the reset page's and export downloads' limits (they spend
// nothing and carry no headers), Free's 20/s on /.well-known/jwks.json, the
// endpoint groups mailproof never calls, and Free or Essentials tenants
// tagged non-production (older pages say under 1/s).
package auth0test
