package store

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/mailproof/mailproof/event"
)

// Record statuses. A record is written pending; a worker moves it to
// verifying while it holds the verification lock, and it ends verified or
// closed. Expired is never stored: a pending record past its ExpiresAt reads
// as expired.
const (
	StatusPending   = "pending"   // StatusPending waits for a login to prove the mailbox.
	StatusVerifying = "verifying" // StatusVerifying: a job holds the lock (Holder) and may PATCH.
	StatusVerified  = "verified"  // StatusVerified: the flag was flipped.
	StatusExpired   = "expired"   // StatusExpired: pending past ExpiresAt; read-only.
	StatusClosed    = "closed"    // StatusClosed: ended without a flip; Outcome says why.
)

// Record is what mailproof knows about a user it provisioned as unverified.
type Record struct {
	UserID        string    `json:"user_id"`
	Email         string    `json:"email"` // in event.NormalizeEmail form
	Connection    string    `json:"connection"`
	ProvisionedAt time.Time `json:"provisioned_at"`
	Status        string    `json:"status"`
	Outcome       string    `json:"outcome,omitempty"`   // outcome code once verified or closed
	Holder        string    `json:"holder,omitempty"`    // event (webhook id) holding the lock while verifying
	ExpiresAt     time.Time `json:"expires_at,omitzero"` // zero: never
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
	// Delivery is how the person was last sent the link (reset-email or ticket);
	// DeliveredAt when, Deliveries how many times. DeliveringAt is set while a delivery
	// is under way and cleared once it is recorded: set on a record with no delivery
	// recorded means a run died mid-send, so nobody knows whether the email left.
	Delivery     string    `json:"delivery,omitempty"`
	DeliveredAt  time.Time `json:"delivered_at,omitzero"`
	Deliveries   int       `json:"deliveries"`
	DeliveringAt time.Time `json:"delivering_at,omitzero"`
}

// PutPending creates or replaces the pending record of rec.UserID: the
// status becomes pending, any lock and outcome are cleared, and CreatedAt
// survives a replacement. A zero ProvisionedAt means now; a zero ExpiresAt
// is ProvisionedAt plus the configured pending TTL (if any).
func (r *Redis) PutPending(ctx context.Context, rec Record) error {
	_, err := r.putPending(ctx, rec, "replace")
	return err
}

// CreatePending writes rec as a new pending record only if the user has no record in
// any status, and reports whether it did. Provisioning uses it: a concurrent or earlier
// run's record, perhaps already delivered to, must never be written over.
func (r *Redis) CreatePending(ctx context.Context, rec Record) (bool, error) {
	return r.putPending(ctx, rec, "create")
}

func (r *Redis) putPending(ctx context.Context, rec Record, mode string) (bool, error) {
	if rec.UserID == "" {
		return false, errors.New("put pending: empty user id")
	}
	now := r.now()
	if rec.ProvisionedAt.IsZero() {
		rec.ProvisionedAt = now
	}
	if rec.ExpiresAt.IsZero() && r.cfg.pendingTTL > 0 {
		rec.ExpiresAt = rec.ProvisionedAt.Add(r.cfg.pendingTTL)
	}
	// The record outlives its expiry by the retention, so an expired record
	// can still be shown, then the tidy pass deletes it; its email index
	// entry is kept at least as long.
	var keyExpiry int64
	if !rec.ExpiresAt.IsZero() && r.cfg.retention > 0 {
		keyExpiry = rec.ExpiresAt.Add(r.cfg.retention).UnixMilli()
	}
	email := event.NormalizeEmail(rec.Email)
	print, shard := emailPrint(email)
	week, weekEnd := emailWeek(keyExpiry)
	thisWeek, _ := emailWeek(now.UnixMilli())
	layout, err := r.layoutArg(ctx)
	if err != nil {
		return false, wrap("put pending", err)
	}
	n, err := r.scripts.put.Run(ctx, r.c,
		[]string{recordShardKey(rec.UserID), pendingIndexKey(rec.UserID), emailIndexKey(week, shard), keyEmailWeeks, emailKey(email), keyPendingIndex, oldRecordKey(rec.UserID)},
		encodeID(rec.UserID), rec.UserID, email, rec.Connection,
		ms(rec.ProvisionedAt), ms(now), ms(rec.ExpiresAt), keyExpiry, mode,
		print, week, weekEnd, thisWeek, layout,
	).Int()
	if err != nil {
		return false, wrap("put pending", err)
	}
	return n == 1, nil
}

// Get returns the record of a user in any status, or ErrNotFound.
func (r *Redis) Get(ctx context.Context, userID string) (Record, error) {
	recs, errs := r.GetMany(ctx, []string{userID})
	return recs[0], errs[0]
}

// DeletePending removes a user's record, and its email index entries if they point at
// the user, whatever its status, and reports whether there was one.
func (r *Redis) DeletePending(ctx context.Context, userID string) (bool, error) {
	// The address is read before the script: a replacement in between
	// (another address) leaves the old address's entries, which FindByEmail
	// ignores (the record no longer holds that address) and which expire
	// with their week; the record itself is deleted all the same.
	rec, err := r.Get(ctx, userID)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return false, wrap("delete record", err)
	}
	email := rec.Email
	weeks, err := r.c.ZRange(ctx, keyEmailWeeks, 0, -1).Result()
	if err != nil {
		return false, wrap("delete record", err)
	}
	print, shard := emailPrint(email)
	keys := []string{recordShardKey(userID), pendingIndexKey(userID), keyPendingIndex, emailKey(email), oldRecordKey(userID)}
	for _, w := range weeks {
		week, _ := strconv.ParseInt(w, 10, 64)
		keys = append(keys, emailIndexKey(week, shard))
	}
	n, err := r.scripts.del.Run(ctx, r.c, keys, encodeID(userID), userID, print).Int()
	if err != nil {
		return false, wrap("delete record", err)
	}
	return n == 1, nil
}

// recordFromPacked decodes userID's record from its packed field (see
// lua/record.lua), reporting a pending record past its expiry as expired.
func (r *Redis) recordFromPacked(userID, packed string) Record {
	return r.expired(unpackRecord(userID, packed))
}

// packOrder is lua/record.lua's: the packed value's fields, in order.
var packOrder = [...]byte{'s', 'p', 'e', 'x', 'c', 'a', 'u', 'o', 'h', 'd', 't', 'n', 'g'}

// statusNames are lua/record.lua's one-letter statuses.
var statusNames = map[string]string{"P": StatusPending, "W": StatusVerifying, "V": StatusVerified, "C": StatusClosed}

// unpackRecord decodes a packed record (lua/record.lua's packRecord) into the
// compact layout's fields and reads those as compactRecord does, so both
// share one set of defaults: no connection field is the default connection,
// never "" (which accepts any: see defaultConnection).
func unpackRecord(userID, packed string) Record {
	h := make(map[string]string, 8)
	for i, v := range strings.Split(packed, "\x1f") {
		if i >= len(packOrder) {
			break
		}
		k := string(packOrder[i])
		switch {
		case k == "c":
			if v != "" {
				h["c"] = unescapePacked(v[1:])
			}
		case v == "":
		case k == "s":
			if name, ok := statusNames[v]; ok {
				h["s"] = name
			} else {
				h["s"] = unescapePacked(v)
			}
		case strings.ContainsRune("pxautg", rune(k[0])):
			n, err := strconv.ParseInt(v, 36, 64)
			if err == nil && n > 0 {
				h[k] = strconv.FormatInt(n, 10)
			}
		default:
			h[k] = unescapePacked(v)
		}
	}
	return compactRecord(userID, h)
}

// unescapePacked undoes packRecord's escapes: \x1ba is \x1b, \x1bb is \x1f.
func unescapePacked(s string) string {
	if !strings.Contains(s, "\x1b") {
		return s
	}
	return strings.NewReplacer("\x1ba", "\x1b", "\x1bb", "\x1f").Replace(s)
}

// recordFromHash decodes the record hash of userID in either layout before
// packed records (see lua/record.lua), reporting a pending record past its
// expiry as expired.
func (r *Redis) recordFromHash(userID string, h map[string]string) Record {
	if _, ok := h["s"]; ok {
		return r.expired(compactRecord(userID, h))
	}
	rec := decodeRecord(h, longFields)
	if rec.UserID == "" {
		rec.UserID = userID
	}
	return r.expired(rec)
}

// recordFields names a record's fields in one layout of its hash.
type recordFields struct {
	user, email, connection, provisioned, status, outcome, holder string
	expires, created, updated, delivery, delivered, delivering    string
	deliveries                                                    string
}

// longFields is the layout before compact records (records written by earlier
// versions are read as they are); compactFields is lua/record.lua's.
var (
	longFields = recordFields{
		user: "user_id", email: "email", connection: "connection", provisioned: "provisioned_at",
		status: "status", outcome: "outcome", holder: "holder", expires: "expires_at",
		created: "created_at", updated: "updated_at", delivery: "delivery",
		delivered: "delivered_at", delivering: "delivering_at", deliveries: "deliveries",
	}
	compactFields = recordFields{
		email: "e", connection: "c", provisioned: "p", status: "s", outcome: "o", holder: "h",
		expires: "x", created: "a", updated: "u", delivery: "d", delivered: "t",
		delivering: "g", deliveries: "n",
	}
)

// decodeRecord reads h by the names of f; a name f leaves empty reads as empty.
func decodeRecord(h map[string]string, f recordFields) Record {
	get := func(name string) string {
		if name == "" {
			return ""
		}
		return h[name]
	}
	rec := Record{
		UserID:        get(f.user),
		Email:         get(f.email),
		Connection:    get(f.connection),
		ProvisionedAt: parseMS(get(f.provisioned)),
		Status:        get(f.status),
		Outcome:       get(f.outcome),
		Holder:        get(f.holder),
		ExpiresAt:     parseMS(get(f.expires)),
		CreatedAt:     parseMS(get(f.created)),
		UpdatedAt:     parseMS(get(f.updated)),
		Delivery:      get(f.delivery),
		DeliveredAt:   parseMS(get(f.delivered)),
		DeliveringAt:  parseMS(get(f.delivering)),
	}
	rec.Deliveries, _ = strconv.Atoi(get(f.deliveries))
	return rec
}

// defaultConnection is Auth0's default database connection: most records are on it,
// so the compact layout stores a record's connection only when it is another one.
// The connection is part of what allows a flip (proof's policy: the login's connection
// must be the record's, and "" accepts any), so the encoding errs one way only: an
// empty connection is stored as an empty 'c', never left out, and a missing 'c' reads
// as this one name, never as "". A field lost by mistake could only make a flip
// stricter, not let a login on another connection through.
const defaultConnection = "Username-Password-Authentication"

// compactRecord decodes a record of the compact layout: one-letter names, and
// nothing stored for what is empty or implied (lua/record.lua lists them).
func compactRecord(userID string, h map[string]string) Record {
	rec := decodeRecord(h, compactFields)
	rec.UserID = userID
	if _, ok := h["c"]; !ok {
		rec.Connection = defaultConnection
	}
	if rec.CreatedAt.IsZero() {
		rec.CreatedAt = rec.ProvisionedAt
	}
	if rec.UpdatedAt.IsZero() {
		rec.UpdatedAt = rec.CreatedAt
	}
	return rec
}

// expired reports a pending record past its expiry as expired.
func (r *Redis) expired(rec Record) Record {
	if rec.Status == StatusPending && !rec.ExpiresAt.IsZero() && !r.now().Before(rec.ExpiresAt) {
		rec.Status = StatusExpired
	}
	return rec
}
