package webhook

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultTolerance is how far a webhook-timestamp may be from the receiver's clock, in
// either direction, when NewVerifier is given no tolerance. It is the value every
// Standard Webhooks library uses.
const DefaultTolerance = 5 * time.Minute

const (
	maxSignatureEntries = 8   // more entries only multiply the work an attacker can ask for
	maxMessageIDLen     = 256 // webhook-id; also a Redis key suffix in the replay guard
	minSecretLen        = 24  // Standard Webhooks: 24 to 64 random bytes
	maxSecretLen        = 64
)

// The reasons a SignatureError carries; see Reasons.
const (
	reasonMissingID          = "missing_id"
	reasonMissingTimestamp   = "missing_timestamp"
	reasonMissingSignature   = "missing_signature"
	reasonMalformedID        = "malformed_id"
	reasonMalformedTimestamp = "malformed_timestamp"
	reasonMalformedSignature = "malformed_signature"
	reasonStaleTimestamp     = "stale_timestamp"
	reasonNoMatch            = "no_match"
)

// reasons lists every Reason a SignatureError can carry. The list is closed: a new
// reason is a breaking change for dashboards and alerts.
var reasons = [...]string{
	reasonMissingID, reasonMissingTimestamp, reasonMissingSignature,
	reasonMalformedID, reasonMalformedTimestamp, reasonMalformedSignature,
	reasonStaleTimestamp, reasonNoMatch,
}

// Reasons returns every Reason a SignatureError can carry, so that metrics can
// pre-declare their label values. The slice is a copy.
func Reasons() []string { return append([]string(nil), reasons[:]...) }

// SignatureError is why Verify rejected a request. Reason is one of Reasons();
// the error text never contains the header values, which are attacker-controlled.
type SignatureError struct {
	Reason string
}

// Error returns the reason in a sentence.
func (e *SignatureError) Error() string { return "webhook signature rejected: " + e.Reason }

// The outcome codes a rejected signature answers with (DESIGN.md's policy table).
const (
	OutcomeInvalidSignature = "invalid_signature"
	OutcomeStaleTimestamp   = "stale_timestamp"
)

// Outcome maps the reason to its outcome code: OutcomeStaleTimestamp for a timestamp
// outside the tolerance, OutcomeInvalidSignature for everything else.
func (e *SignatureError) Outcome() string {
	if e.Reason == reasonStaleTimestamp {
		return OutcomeStaleTimestamp
	}
	return OutcomeInvalidSignature
}

// Hint tells the sender what to fix, without revealing which key came close.
func (e *SignatureError) Hint() string {
	switch e.Reason {
	case reasonStaleTimestamp:
		return "webhook-timestamp is outside the accepted window; check the sender's clock"
	case reasonMissingID, reasonMissingTimestamp, reasonMissingSignature:
		return "the webhook-id, webhook-timestamp and webhook-signature headers are required"
	case reasonMalformedID:
		return "webhook-id must be 1 to 256 characters of A-Z, a-z, 0-9, _ and -"
	case reasonMalformedTimestamp:
		return "webhook-timestamp must be Unix seconds in plain decimal"
	case reasonMalformedSignature:
		return "webhook-signature must be space-separated version,base64 entries"
	}
	return "no signature matches any active key"
}

// Verifier checks Standard Webhooks signatures against one or more active keys (several
// during a rotation). It is safe for concurrent use.
type Verifier struct {
	keys      []verifyKey
	tolerance time.Duration
	now       func() time.Time
	contents  sync.Pool // *[]byte holding id.timestamp.body for ed25519
}

type verifyKey struct {
	id     string
	public ed25519.PublicKey // nil for an HMAC key
	macs   sync.Pool         // *macState for an HMAC key: hmac.New allocates
}

type macState struct {
	mac    hash.Hash
	prefix []byte // "id.timestamp."
	sum    [sha256.Size]byte
}

// NewVerifier returns a Verifier that accepts a request signed by any of keys (whsec_ or
// whpk_; a whsk_ private key is refused, a receiver needs only the public half).
// tolerance 0 means DefaultTolerance; now nil means time.Now. Every bad key is reported.
func NewVerifier(keys []string, tolerance time.Duration, now func() time.Time) (*Verifier, error) {
	if len(keys) == 0 {
		return nil, errors.New("webhook keys: at least one is required")
	}
	if tolerance < 0 {
		return nil, fmt.Errorf("webhook tolerance %s: must not be negative", tolerance)
	}
	if tolerance == 0 {
		tolerance = DefaultTolerance
	}
	if now == nil {
		now = time.Now
	}
	v := &Verifier{keys: make([]verifyKey, len(keys)), tolerance: tolerance, now: now}
	v.contents.New = func() any { return new([]byte) }
	var errs []error
	seen := make(map[string]int, len(keys))
	for i, s := range keys {
		k, err := ParseKey(s)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("webhook key %d: %w", i+1, err))
			continue
		case k.kind == keyEd25519Sec:
			errs = append(errs, fmt.Errorf("webhook key %d: a whsk_ signing key; give the receiver its whpk_ public key", i+1))
			continue
		}
		material := string(k.secret) + string(k.public) // exact, unlike the short ID
		if j, dup := seen[material]; dup {
			errs = append(errs, fmt.Errorf("webhook key %d: the same key as key %d", i+1, j+1))
			continue
		}
		seen[material] = i
		vk := &v.keys[i]
		vk.id, vk.public = k.id, k.public
		if k.kind == keyHMAC {
			secret := k.secret
			vk.macs.New = func() any { return &macState{mac: hmac.New(sha256.New, secret)} }
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return v, nil
}

// KeyIDs returns the IDs of the active keys in configuration order.
func (v *Verifier) KeyIDs() []string {
	ids := make([]string, len(v.keys))
	for i := range v.keys {
		ids[i] = v.keys[i].id
	}
	return ids
}

// Verify checks the three Standard Webhooks headers against the raw request body and
// returns the ID of the first key that matched. A failure is a *SignatureError. The
// grammar is stricter than the reference libraries': id is 1 to 256 of [A-Za-z0-9_-],
// the timestamp is canonical decimal Unix seconds, and the signature header is 1 to 8
// "version,value" entries separated by single spaces, where v1 and v1a values must be
// canonical padded base64 of the right length. Unknown versions are skipped.
func (v *Verifier) Verify(id, timestamp, signature string, body []byte) (keyID string, err error) {
	switch {
	case id == "":
		return "", &SignatureError{Reason: reasonMissingID}
	case timestamp == "":
		return "", &SignatureError{Reason: reasonMissingTimestamp}
	case signature == "":
		return "", &SignatureError{Reason: reasonMissingSignature}
	case !validMessageID(id):
		return "", &SignatureError{Reason: reasonMalformedID}
	}
	ts, ok := ParseTimestamp(timestamp)
	if !ok {
		return "", &SignatureError{Reason: reasonMalformedTimestamp}
	}
	var sigs signatureSet
	if !sigs.parse(signature) {
		return "", &SignatureError{Reason: reasonMalformedSignature}
	}
	// Freshness before any cryptography: an old capture costs us nothing.
	if age := v.now().Sub(time.Unix(ts, 0)); age > v.tolerance || age < -v.tolerance {
		return "", &SignatureError{Reason: reasonStaleTimestamp}
	}
	for i := range v.keys {
		k := &v.keys[i]
		if k.public == nil && v.matchHMAC(k, id, timestamp, body, &sigs) ||
			k.public != nil && v.matchEd25519(k, id, timestamp, body, &sigs) {
			return k.id, nil
		}
	}
	return "", &SignatureError{Reason: reasonNoMatch}
}

func (v *Verifier) matchHMAC(k *verifyKey, id, ts string, body []byte, sigs *signatureSet) bool {
	if !sigs.has("v1") {
		return false
	}
	st := k.macs.Get().(*macState)
	defer k.macs.Put(st)
	// The parts go into the hash one by one so id.ts.body is never copied.
	st.prefix = append(append(append(append(st.prefix[:0], id...), '.'), ts...), '.')
	st.mac.Reset()
	st.mac.Write(st.prefix)
	st.mac.Write(body)
	sum := st.mac.Sum(st.sum[:0])
	for i := range sigs.n {
		e := &sigs.entries[i]
		if e.version == "v1" && hmac.Equal(sum, e.sig[:sha256.Size]) {
			return true
		}
	}
	return false
}

func (v *Verifier) matchEd25519(k *verifyKey, id, ts string, body []byte, sigs *signatureSet) bool {
	if !sigs.has("v1a") {
		return false
	}
	// ed25519 needs the signed content in one piece.
	buf := v.contents.Get().(*[]byte)
	defer v.contents.Put(buf)
	*buf = append(append(append(append(append((*buf)[:0], id...), '.'), ts...), '.'), body...)
	for i := range sigs.n {
		e := &sigs.entries[i]
		if e.version == "v1a" && ed25519.Verify(k.public, *buf, e.sig[:]) {
			return true
		}
	}
	return false
}

// validMessageID reports whether id is 1 to 256 of [A-Za-z0-9_-]: safe in a Redis key
// and a log line, and what every Standard Webhooks sender produces.
func validMessageID(id string) bool {
	if id == "" || len(id) > maxMessageIDLen {
		return false
	}
	for i := range len(id) {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// ParseTimestamp reads a webhook-timestamp as Verify does: only canonical decimal, with
// no sign, no leading zero and no junk, within int64. The reference libraries disagree
// on anything looser.
func ParseTimestamp(s string) (int64, bool) {
	if s == "" || len(s) > 19 || s[0] == '0' && len(s) > 1 {
		return 0, false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// signatureSet is a parsed webhook-signature header. It lives on the caller's stack:
// parsing a header allocates nothing.
type signatureSet struct {
	entries [maxSignatureEntries]signatureEntry
	n       int
}

type signatureEntry struct {
	version string                      // verbatim: v1, v1a or a version we skip
	value   string                      // verbatim text after the comma
	sig     [ed25519.SignatureSize]byte // decoded value of a v1 (first 32 bytes) or v1a entry
}

// parse reports whether h is 1 to 8 well-formed entries separated by single spaces. An
// empty entry (a doubled, leading or trailing space) makes the whole header malformed,
// as does a v1 or v1a value that is not canonical base64 of the right length.
func (s *signatureSet) parse(h string) bool {
	s.n = 0
	for {
		entry, rest, more := strings.Cut(h, " ")
		if s.n == maxSignatureEntries || !s.add(entry) {
			return false
		}
		if !more {
			return true
		}
		h = rest
	}
}

func (s *signatureSet) add(entry string) bool {
	version, value, ok := strings.Cut(entry, ",")
	if !ok || !validVersion(version) || !validValue(value) {
		return false
	}
	e := &s.entries[s.n]
	e.version, e.value = version, value
	switch version {
	case "v1":
		ok = decodeSignature(e.sig[:sha256.Size], value)
	case "v1a":
		ok = decodeSignature(e.sig[:], value)
	}
	if ok {
		s.n++
	}
	return ok
}

func (s *signatureSet) has(version string) bool {
	for i := range s.n {
		if s.entries[i].version == version {
			return true
		}
	}
	return false
}

func validVersion(v string) bool {
	if v == "" || len(v) > 16 {
		return false
	}
	for i := range len(v) {
		c := v[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// validValue accepts printable ASCII other than the space and comma that delimit
// entries, whatever the version: an entry must not be readable two ways.
func validValue(s string) bool {
	if s == "" {
		return false
	}
	for i := range len(s) {
		if s[i] <= ' ' || s[i] > '~' || s[i] == ',' {
			return false
		}
	}
	return true
}

// decodeSignature fills dst from s, which must be the canonical padded base64 of exactly
// len(dst) bytes. Re-encoding and comparing rejects what the lenient decoder would let
// through (ignored newlines, non-zero padding bits) without a strict Encoding value.
func decodeSignature(dst []byte, s string) bool {
	enc := base64.StdEncoding
	if len(s) != enc.EncodedLen(len(dst)) {
		return false
	}
	var in, out [88]byte // 88 = EncodedLen(64)
	var raw [66]byte     // 66 = DecodedLen(88)
	copy(in[:], s)
	n, err := enc.Decode(raw[:], in[:len(s)])
	if err != nil || n != len(dst) {
		return false
	}
	enc.Encode(out[:], raw[:n])
	if string(out[:len(s)]) != s {
		return false
	}
	copy(dst, raw[:n])
	return true
}
