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
//     429, hangs, dropped connections, answers lost after the write
//     landed), RevokeTokens;
//   - change what the client is granted: SetScopes (see Tokens and scopes);
//   - inspect the traffic: Calls, CountCalls, ResetCalls; Action and
//     Bindings for deployed Actions;
//   - make the next Action build fail: FailNextBuild.
//
// # Database connections and passwords
//
// Config.Connections names the database connections, and
// Config.ConnectionOptions sets each one's legacy password and username
// options, shown by GET /api/v2/connections in the recorded tenant's shape
// (passwordPolicy, password_complexity_options, password_history,
// password_dictionary, password_no_personal_info, requires_username,
// validation.username). A connection without options has policy "none",
// the default Auth0's documentation gives. Connections created through
// the Management API in go-auth0's recent recordings come back with
// "good", so a test that cares about strength should name its policy.
// Start refuses what Auth0 would: an unknown policy, min_length outside
// 1–72, a history size outside 1–24, more than 200 dictionary entries or
// one longer than 50 characters, username bounds outside 1–128.
//
// A new password (POST /api/v2/users, PATCH with password, the reset page
// and FollowResetLink) is checked in this order, the first failure
// answering (a 400 without errorCode from the Management API, as clients
// quote Auth0's answers):
//
//	strength     "PasswordStrengthError: Password is too weak"
//	dictionary   "PasswordDictionaryError: Password is too common"
//	personal     "PasswordNoUserInfoError: Password contains user information"
//	history      "PasswordHistoryError: Password has previously been used"
//
// Strength follows password-sheriff, the library behind Auth0's policies:
// none, at least 1 character; low, 6; fair, 8 with a lower-case letter, an
// upper-case letter and a digit; good, 8 with 3 of lower, upper, digit and
// special (space and ASCII punctuation); excellent, 10 with 3 of the 4 and
// no character 3 times in a row. Letters and digits are ASCII only; lengths
// count characters, as password-sheriff does (Auth0's page on min_length
// speaks of bytes). min_length, when set, replaces the policy's length.
// The dictionary is a short built-in list of common passwords (Auth0's has
// 10,000) plus the custom entries, compared whole and ignoring case.
// Personal data is the name, username, nickname, user_metadata.name,
// .first and .last, and the email before the @, each refused when the
// password contains it, ignoring case (the case rule is the emulator's
// reading of Auth0's example), as the user will be once the write lands.
// History refuses the last N passwords, the current one included; every
// password set counts, the one given at creation or in a seed too. As in
// Auth0's legacy policies a password is read up to its 72nd byte: longer
// ones are silently truncated. AddUser stores its Password without
// checking it.
//
// # User properties
//
// POST /api/v2/users takes exactly the properties Auth0 documents (email,
// phone_number, user_metadata, blocked, email_verified, phone_verified,
// app_metadata, given_name, family_name, name, nickname, picture, user_id,
// connection, password, verify_email, username) and PATCH
// /api/v2/users/{id} its own (the same but user_id, plus
// verify_phone_number and client_id); anything else, go-auth0's
// screen_name or location included, is "Additional properties not
// allowed". Types, lengths and patterns follow Auth0's published schema,
// worded as its validator words them: given_name and family_name 1–150
// characters, name and nickname 1–300, username 1–128, phone_number
// E.164, user_id without spaces and at most 255, password at least 1.
// A null is a type error on create; on PATCH it removes phone_number,
// given_name, family_name, name, nickname or picture, and is refused for
// email, password and username (Auth0 allows it there but does not say
// what it does). Picture URIs are not checked, verify_email and
// verify_phone_number send nothing, phone numbers are stored for any
// connection.
//
// Usernames: in a connection with RequiresUsername a create without one is
// a 400 "Payload validation error: 'Missing required property: username'.";
// in one without, sending one is a 400 "Cannot set username for
// connection without requires_username". A username is letters and digits
// without accents and _+-.!#$'^`~@, within the connection's length bounds
// (default 1–15), not an email address, stored lower-cased and unique in
// its connection ignoring case ("The username provided is in use
// already.", 400, as clients quote Auth0). The password-realm login takes
// the username or the email there. A blocked user's login is a 401
// unauthorized "user is blocked" (wording unconfirmed). The errorCode of
// the username answers is not confirmed by a recording. Answers list the
// profile in the recorded order (alphabetical, then last_password_reset
// and app_metadata); blocked appears once it was written, phone_verified
// with a phone number.
//
// # Actions
//
// A create or update starts a build of the draft that takes
// Config.BuildDelay by the tenant clock: the draft's status is "pending"
// for the first half (the write's own answer says pending, as recorded),
// "building" for the second, then "built". FailNextBuild makes the next
// build end in "failed" instead; the version deployed before stays
// deployed and bound, and the failed draft cannot be deployed (400, the
// emulator's wording). Auth0's documented Action has no errors array (only
// versions have one) and go-auth0's Action type none either: a failed
// build shows as its status alone, as in Auth0's own Terraform provider,
// which sends the operator to the Dashboard for the errors. Another update
// starts a new build.
//
// Answers follow go-auth0's recordings, field order included: an Action
// carries current_version (the latest version, status "BUILT",
// build_time) and deployed_version (with built_at and the secret names of
// that version) once deployed; built_at, which Auth0's schema lists, is in
// no recorded Action and is left out. The deploy answer is the new version
// with its secrets, deployed: false and no built_at, and the short Action
// whose updated_at is its creation time, as in every recorded one. GET
// .../triggers/{id}/bindings pages with page (0-based) and per_page
// (default 20 as documented, at most 100; go-auth0 asks for 50) and
// answers {"bindings","total","per_page"} as recorded (no "page"; a bad
// number is a 400, the emulator's wording). Not modelled: create with
// "deploy": true, versions endpoints, the 20-bindings limit, dependency
// registry_url disappearing once built.
//
// # Tokens and scopes
//
// The client-credentials grant issues a JWT access token with the claims of
// Auth0's Management API tokens: iss, sub (client_id@clients), aud (the
// /api/v2/ audience), iat, exp (24 hours), gty, azp, a jti, and scope: the
// scopes granted to the client, space-separated, as the answer's scope
// field also lists them. Reading the payload without verifying it (as
// mailproof's readiness check does) gives what Auth0's would. The
// signature is HS256 with a key of the tenant's, where Auth0 uses RS256:
// only the tenant checks it. The grant is Config.Scopes, MailproofScopes by
// default, and SetScopes changes it for tokens issued afterwards: a token
// keeps its scopes until it expires, as at Auth0, so a test that grants a
// scope calls RevokeTokens to make the client fetch a new token (its next
// call answers 401).
//
// Every Management API route checks the token's scopes after the token
// itself (401 first, as at Auth0) and answers a call none of them allows
// with Auth0's 403: {"statusCode":403,"error":"Forbidden","message":
// "Insufficient scope, expected any of: update:users,update:users_app_metadata",
// "errorCode":"insufficient_scope"}. The scopes each route accepts are the
// Management API reference's (routeScopes), less the *:current_user ones,
// which only a person's token can use: users create:users; read and search
// read:users or read:user_idp_tokens; update update:users, or
// update:users_app_metadata for a body of app_metadata alone (a PATCH of
// anything else with it names update:users; that wording is the
// emulator's); delete delete:users; users-by-email and users-exports
// read:users; jobs/{id} create:users or read:users; connections
// read:connections; password-change tickets create:user_tickets; Actions
// read:actions (list, read, bindings), create:actions (create, deploy),
// update:actions (update, bindings), delete:actions. A call rejected for
// its scope still spends the rate limit. A route missing from that table
// answers 500, so a new route cannot go unchecked.
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
// reconcile sweep sends one form, sorted by created_at:1 (a key no change moves a user in), 100 a page:
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
// username, phone_number, email_verified, phone_verified, blocked (once
// written), logins_count, created_at, updated_at,
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
//
// # Differences from the recordings
//
// TestRecordedFidelity replays go-auth0 v1.45.0's recordings of real
// Auth0 traffic (test/data/recordings in its module; go mod download
// fetches them) for the calls mailproof makes: users create, read,
// update, delete, by email and search; password-change tickets; a
// connection by name; user exports; Actions create, read, update,
// deploy, list and trigger bindings, and the 404 of a deleted user and
// of a deleted Action; the Authentication API's change_password and
// client-credentials grant. Each recording runs against a tenant of its
// own whose database connection is set up as the recorded one (policy
// good, min_length 8, usernames required), with the recorded ids,
// go-auth0's redacted client credentials and the retired node16 runtime
// swapped for the tenant's. Each answer is compared with the recorded
// one: the status; the Content-Type when there is a body (a recorded 204
// carries one, ours none); a plain body whole; an error body whole
// (statusCode, error, message, errorCode); a JSON answer's fields in
// order, at the top and in the nested objects mailproof reads
// (identities[0], an Action's secrets, current_version and
// deployed_version, the deploy answer's action, a binding and its
// action, the connection, the export's fields). Values are not compared:
// ids, timestamps, and an Action's status, which the recordings show
// pending and building where a replay with a short BuildDelay says built.
// The recordings keep no header but Content-Type, so they cannot check
// x-ratelimit-*; they hold no 409 or 400 answer of a call mailproof
// makes, and no read of an export job.
//
// The differences that remain, each harmless for mailproof:
//
//   - token scope: the emulator's client-credentials answer has a scope
//     field, the recorded ones none. go-auth0's recorder re-encodes token
//     answers through its TokenSet type, which drops an empty scope and
//     orders the fields its own way (so only their set is compared), and
//     the recorded client asked for a test API it was granted nothing on.
//     Auth0 lists the granted scopes of a Management API token; mailproof
//     reads them from the token itself.
//   - connection settings: the connection read by name has no
//     authentication and connected_accounts objects. The recording created
//     its connection with them; the emulator's connections are configured,
//     not created. mailproof reads a connection's id, name and strategy.
//   - create with deploy: an Action created with "deploy": true is not
//     modelled, so the replay creates it and then deploys it, and the
//     create's answer has no current_version or deployed_version. mailproof
//     never creates with deploy: it waits for the build, then deploys; the
//     recorded read of the deployed Action matches the emulator's.
package auth0test
