package webhook

import (
	"bytes"
	"cmp"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The published vectors of standard-webhooks.md, also in testdata/signature-vectors.json.
const (
	symmetricSecret  = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	asymmetricSecret = "whsk_6Xb/dCcHpPea21PS1N9VY/NZW723CEc77N4rJCubMbfVKIDij2HKpMKkioLlX0dRqSKJp4AJ6p9lMicMFs6Kvg=="
	asymmetricPublic = "whpk_1SiA4o9hyqTCpIqC5V9HUakiiaeACeqfZTInDBbOir4="
	vectorID         = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vectorTS         = "1614265330"
	vectorBody       = `{"test": 2432232314}`
	vectorSig        = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

// vectorTime is the published vectors' timestamp.
func vectorTime() time.Time { return time.Unix(1614265330, 0) }

// signatureVectors is testdata/signature-vectors.json, shared with deploy/action's tests.
type signatureVectors struct {
	Source string `json:"source"`
	Sign   []struct {
		Name      string `json:"name"`
		Secret    string `json:"secret"`
		PublicKey string `json:"public_key"`
		ID        string `json:"id"`
		Timestamp int64  `json:"timestamp"`
		Payload   string `json:"payload"`
		Signature string `json:"signature"`
	} `json:"sign"`
	Verify []struct {
		Name      string   `json:"name"`
		Keys      []string `json:"keys"`
		ID        string   `json:"id"`
		Timestamp string   `json:"timestamp"`
		Now       int64    `json:"now"`
		Payload   string   `json:"payload"`
		Signature string   `json:"signature"`
		Valid     bool     `json:"valid"`
		Reason    string   `json:"reason"`
	} `json:"verify"`
	InvalidSecrets []string `json:"invalid_secrets"`
}

func loadSignatureVectors(t testing.TB) signatureVectors {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "signature-vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v signatureVectors
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields() // a field this test does not read would be a silent gap
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("signature vectors: %v", err)
	}
	if len(v.Sign) == 0 || len(v.Verify) == 0 || len(v.InvalidSecrets) == 0 {
		t.Fatalf("signature vectors: %d sign, %d verify, %d invalid secrets; want some of each", len(v.Sign), len(v.Verify), len(v.InvalidSecrets))
	}
	return v
}

func fixedClock(sec int64) func() time.Time { return func() time.Time { return time.Unix(sec, 0) } }

func mustVerifier(t testing.TB, keys ...string) *Verifier {
	t.Helper()
	v, err := NewVerifier(keys, 0, vectorTime)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func reasonOf(err error) string {
	var se *SignatureError
	if errors.As(err, &se) {
		return se.Reason
	}
	if err != nil {
		return "not a SignatureError: " + err.Error()
	}
	return ""
}

func TestSignatureVectorsSign(t *testing.T) {
	for _, tc := range loadSignatureVectors(t).Sign {
		at := time.Unix(tc.Timestamp, 0)
		got, err := Sign(tc.Secret, tc.ID, at, []byte(tc.Payload))
		if err != nil {
			t.Errorf("%s: Sign: %v", tc.Name, err)
			continue
		}
		if got != tc.Signature {
			t.Errorf("%s: Sign = %q, want %q", tc.Name, got, tc.Signature)
		}
		// What was signed verifies under the receiver's form of the key.
		receiverKey := tc.Secret
		if tc.PublicKey != "" {
			receiverKey = tc.PublicKey
		}
		v, err := NewVerifier([]string{receiverKey}, 0, fixedClock(tc.Timestamp))
		if err != nil {
			t.Fatalf("%s: NewVerifier: %v", tc.Name, err)
		}
		keyID, err := v.Verify(tc.ID, strconv.FormatInt(tc.Timestamp, 10), got, []byte(tc.Payload))
		want, _ := ParseKey(receiverKey)
		if err != nil || keyID != want.ID() {
			t.Errorf("%s: Verify = %q, %v; want %q, nil", tc.Name, keyID, err, want.ID())
		}
	}
}

func TestSignatureVectorsVerify(t *testing.T) {
	for _, tc := range loadSignatureVectors(t).Verify {
		v, err := NewVerifier(tc.Keys, 0, fixedClock(tc.Now))
		if err != nil {
			t.Fatalf("%s: NewVerifier: %v", tc.Name, err)
		}
		keyID, err := v.Verify(tc.ID, tc.Timestamp, tc.Signature, []byte(tc.Payload))
		switch {
		case tc.Valid && err != nil:
			t.Errorf("%s: Verify error %v, want success", tc.Name, err)
		case tc.Valid && !strings.HasPrefix(keyID, "wh"):
			t.Errorf("%s: key ID %q, want a whsec:/whpk: ID", tc.Name, keyID)
		case !tc.Valid && reasonOf(err) != tc.Reason:
			t.Errorf("%s: reason %q, want %q", tc.Name, reasonOf(err), tc.Reason)
		case !tc.Valid && keyID != "":
			t.Errorf("%s: key ID %q on failure, want empty", tc.Name, keyID)
		}
	}
}

func TestSignatureVectorsInvalidSecrets(t *testing.T) {
	for _, s := range loadSignatureVectors(t).InvalidSecrets {
		_, err := NewVerifier([]string{s}, 0, nil)
		if err == nil {
			t.Errorf("NewVerifier(%q) succeeded, want an error", s)
			continue
		}
		if _, encoded, _ := strings.Cut(s, "_"); len(encoded) > 3 && strings.Contains(err.Error(), strings.TrimSpace(encoded)) {
			t.Errorf("NewVerifier(%q) error %q repeats the secret", s, err)
		}
	}
}

func b64(n int) string { return base64.StdEncoding.EncodeToString([]byte(strings.Repeat("k", n))) }

func TestParseKey(t *testing.T) {
	tests := []struct {
		name    string
		key     string
		wantID  string // regexp
		wantErr string // substring
	}{
		{name: "published whsec", key: symmetricSecret, wantID: `^whsec:[0-9a-f]{8}$`},
		{name: "64-byte whsec", key: "whsec_" + b64(64), wantID: `^whsec:[0-9a-f]{8}$`},
		{name: "published whpk", key: asymmetricPublic, wantID: `^whpk:[0-9a-f]{8}$`},
		{name: "published whsk", key: asymmetricSecret, wantID: `^whpk:[0-9a-f]{8}$`},
		{name: "23-byte whsec", key: "whsec_" + b64(23), wantErr: "decodes to 23 bytes, want 24 to 64"},
		{name: "65-byte whsec", key: "whsec_" + b64(65), wantErr: "decodes to 65 bytes, want 24 to 64"},
		{name: "empty", key: "", wantErr: "prefix"},
		{name: "prefix only", key: "whsec_", wantErr: "decodes to 0 bytes"},
		{name: "unknown prefix", key: "whsecret_" + b64(32), wantErr: "prefix"},
		{name: "trailing newline", key: symmetricSecret + "\n", wantErr: "whitespace"},
		{name: "inner space", key: "whsec_MfKQ9r8G KYqrTwjUPD8ILPZIo2LaLaSw", wantErr: "whitespace"},
		{name: "missing padding", key: strings.TrimRight("whsec_"+b64(25), "="), wantErr: "base64"},
		{name: "url-safe alphabet", key: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2La-_Sw", wantErr: "base64"},
		{name: "non-zero padding bits", key: "whsec_" + b64(25)[:34] + "B=", wantErr: "base64"},
		{name: "31-byte whpk", key: "whpk_" + b64(31), wantErr: "want 32"},
		{name: "whsk with a foreign public half", key: "whsk_" + base64.StdEncoding.EncodeToString(append([]byte(strings.Repeat("s", 32)), []byte(strings.Repeat("p", 32))...)), wantErr: "does not belong"},
	}
	for _, tc := range tests {
		k, err := ParseKey(tc.key)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.wantErr)
			}
			if _, encoded, _ := strings.Cut(tc.key, "_"); err != nil && len(encoded) > 3 && strings.Contains(err.Error(), strings.TrimSpace(encoded)) {
				t.Errorf("%s: error %q repeats the key", tc.name, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: error %v, want none", tc.name, err)
			continue
		}
		if !regexp.MustCompile(tc.wantID).MatchString(k.ID()) {
			t.Errorf("%s: ID %q, want a match for %s", tc.name, k.ID(), tc.wantID)
		}
		// No fmt verb may reveal the key material.
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%d", "%q"} {
			if got := fmt.Sprintf(verb, k); got != k.ID() {
				t.Errorf("%s: Sprintf(%s) = %q, want the ID %q", tc.name, verb, got, k.ID())
			}
		}
	}
	sk, _ := ParseKey(asymmetricSecret)
	pk, _ := ParseKey(asymmetricPublic)
	if sk.ID() != pk.ID() {
		t.Errorf("whsk ID %q, want its public key's ID %q", sk.ID(), pk.ID())
	}
}

func TestNewVerifierErrors(t *testing.T) {
	tests := []struct {
		name      string
		keys      []string
		tolerance time.Duration
		wantErr   []string
	}{
		{name: "no keys", wantErr: []string{"at least one"}},
		{name: "negative tolerance", keys: []string{symmetricSecret}, tolerance: -time.Second, wantErr: []string{"negative"}},
		{name: "signing key", keys: []string{asymmetricSecret}, wantErr: []string{"key 1", "whpk_ public key"}},
		{name: "duplicate", keys: []string{symmetricSecret, asymmetricPublic, symmetricSecret}, wantErr: []string{"key 3: the same key as key 1"}},
		{name: "every bad key reported", keys: []string{"whsec_", symmetricSecret, "nope"}, wantErr: []string{"key 1:", "key 3:"}},
	}
	for _, tc := range tests {
		v, err := NewVerifier(tc.keys, tc.tolerance, nil)
		if err == nil {
			t.Errorf("%s: got a verifier, want an error", tc.name)
			continue
		}
		if v != nil {
			t.Errorf("%s: got a verifier alongside error %v", tc.name, err)
		}
		for _, want := range tc.wantErr {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s: error %q, want it to contain %q", tc.name, err, want)
			}
		}
	}
}

func TestVerifierDefaults(t *testing.T) {
	v, err := NewVerifier([]string{symmetricSecret}, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if v.tolerance != DefaultTolerance {
		t.Errorf("tolerance %s, want %s", v.tolerance, DefaultTolerance)
	}
	// With the real clock the 2021 vector is stale, which proves time.Now is used.
	if _, err := v.Verify(vectorID, vectorTS, vectorSig, []byte(vectorBody)); reasonOf(err) != "stale_timestamp" {
		t.Errorf("vector under the real clock: reason %q, want stale_timestamp", reasonOf(err))
	}
}

func TestVerifyRotation(t *testing.T) {
	oldKey, newKey, otherKey := "whsec_"+b64(32), "whsec_"+b64(40), "whsec_"+b64(48)
	id := func(s string) string { k, _ := ParseKey(s); return k.ID() }
	v := mustVerifier(t, oldKey, newKey, asymmetricPublic)
	sign := func(secret string) string {
		s, err := Sign(secret, vectorID, vectorTime(), []byte(vectorBody))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	tests := []struct {
		name, header, wantKeyID, wantReason string
	}{
		{name: "old key", header: sign(oldKey), wantKeyID: id(oldKey)},
		{name: "new key", header: sign(newKey), wantKeyID: id(newKey)},
		{name: "ed25519 key", header: sign(asymmetricSecret), wantKeyID: id(asymmetricPublic)},
		{name: "sender signs with both", header: sign(newKey) + " " + sign(oldKey), wantKeyID: id(oldKey)},
		{name: "retired key", header: sign(otherKey), wantReason: "no_match"},
		{name: "retired then new", header: sign(otherKey) + " " + sign(newKey), wantKeyID: id(newKey)},
	}
	for _, tc := range tests {
		keyID, err := v.Verify(vectorID, vectorTS, tc.header, []byte(vectorBody))
		if keyID != tc.wantKeyID || reasonOf(err) != tc.wantReason {
			t.Errorf("%s: got %q, %q; want %q, %q", tc.name, keyID, reasonOf(err), tc.wantKeyID, tc.wantReason)
		}
	}
	if got := v.KeyIDs(); len(got) != 3 || got[0] != id(oldKey) || got[2] != id(asymmetricPublic) {
		t.Errorf("KeyIDs = %q, want the three IDs in configuration order", got)
	}
}

func TestVerifyGrammar(t *testing.T) {
	v := mustVerifier(t, symmetricSecret)
	valid := vectorSig
	v2 := "v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
	tests := []struct {
		name, id, ts, sig, wantReason string
	}{
		{name: "valid", id: vectorID, ts: vectorTS, sig: valid},
		{name: "empty id", id: "", ts: vectorTS, sig: valid, wantReason: "missing_id"},
		{name: "empty timestamp", id: vectorID, ts: "", sig: valid, wantReason: "missing_timestamp"},
		{name: "empty signature", id: vectorID, ts: vectorTS, sig: "", wantReason: "missing_signature"},
		{name: "id of 257", id: strings.Repeat("a", 257), ts: vectorTS, sig: valid, wantReason: "malformed_id"},
		{name: "id of 256 is well formed", id: strings.Repeat("a", 256), ts: vectorTS, sig: valid, wantReason: "no_match"},
		{name: "id with a dot", id: "msg.1", ts: vectorTS, sig: valid, wantReason: "malformed_id"},
		{name: "id with a space", id: "msg 1", ts: vectorTS, sig: valid, wantReason: "malformed_id"},
		{name: "id with a slash", id: "msg/1", ts: vectorTS, sig: valid, wantReason: "malformed_id"},
		{name: "id with a newline", id: "msg_1\n", ts: vectorTS, sig: valid, wantReason: "malformed_id"},
		{name: "id with non-ASCII", id: "msg_é", ts: vectorTS, sig: valid, wantReason: "malformed_id"},
		{name: "id with a Redis hash tag", id: "x}:{mp}", ts: vectorTS, sig: valid, wantReason: "malformed_id"},
		{name: "negative timestamp", id: vectorID, ts: "-1614265330", sig: valid, wantReason: "malformed_timestamp"},
		{name: "timestamp with a space", id: vectorID, ts: " 1614265330", sig: valid, wantReason: "malformed_timestamp"},
		{name: "timestamp with a fraction", id: vectorID, ts: "1614265330.0", sig: valid, wantReason: "malformed_timestamp"},
		{name: "timestamp in exponent form", id: vectorID, ts: "1.6e9", sig: valid, wantReason: "malformed_timestamp"},
		{name: "timestamp in hex", id: vectorID, ts: "0x60381a72", sig: valid, wantReason: "malformed_timestamp"},
		{name: "timestamp over int64", id: vectorID, ts: "9223372036854775808", sig: valid, wantReason: "malformed_timestamp"},
		{name: "timestamp of 20 digits", id: vectorID, ts: "16142653300000000000", sig: valid, wantReason: "malformed_timestamp"},
		{name: "timestamp zero is well formed", id: vectorID, ts: "0", sig: valid, wantReason: "stale_timestamp"},
		{name: "largest int64 is well formed", id: vectorID, ts: "9223372036854775807", sig: valid, wantReason: "stale_timestamp"},
		{name: "8 entries", id: vectorID, ts: vectorTS, sig: strings.Repeat(v2+" ", 7) + valid},
		{name: "9 entries", id: vectorID, ts: vectorTS, sig: strings.Repeat(v2+" ", 8) + valid, wantReason: "malformed_signature"},
		{name: "double space", id: vectorID, ts: vectorTS, sig: v2 + "  " + valid, wantReason: "malformed_signature"},
		{name: "leading space", id: vectorID, ts: vectorTS, sig: " " + valid, wantReason: "malformed_signature"},
		{name: "trailing space", id: vectorID, ts: vectorTS, sig: valid + " ", wantReason: "malformed_signature"},
		{name: "tab separator", id: vectorID, ts: vectorTS, sig: v2 + "\t" + valid, wantReason: "malformed_signature"},
		{name: "comma separator", id: vectorID, ts: vectorTS, sig: v2 + "," + valid, wantReason: "malformed_signature"},
		{name: "trailing newline", id: vectorID, ts: vectorTS, sig: valid + "\n", wantReason: "malformed_signature"},
		{name: "newline inside base64", id: vectorID, ts: vectorTS, sig: valid[:20] + "\n" + valid[21:], wantReason: "malformed_signature"},
		{name: "no comma", id: vectorID, ts: vectorTS, sig: "v1", wantReason: "malformed_signature"},
		{name: "no version", id: vectorID, ts: vectorTS, sig: valid[2:], wantReason: "malformed_signature"},
		{name: "empty unknown value", id: vectorID, ts: vectorTS, sig: "v2, " + valid, wantReason: "malformed_signature"},
		{name: "version with a dash", id: vectorID, ts: vectorTS, sig: "v-1,abc " + valid, wantReason: "malformed_signature"},
		{name: "upper-case V1 is an unknown version", id: vectorID, ts: vectorTS, sig: "V1" + valid[2:], wantReason: "no_match"},
		{name: "unknown version skipped", id: vectorID, ts: vectorTS, sig: "v9,not-base64:anything " + valid},
		{name: "unpadded base64", id: vectorID, ts: vectorTS, sig: strings.TrimRight(valid, "="), wantReason: "malformed_signature"},
		{name: "non-zero padding bits", id: vectorID, ts: vectorTS, sig: valid[:len(valid)-2] + "F=", wantReason: "malformed_signature"},
		{name: "url-safe base64", id: vectorID, ts: vectorTS, sig: strings.NewReplacer("+", "-", "/", "_").Replace(valid), wantReason: "malformed_signature"},
		{name: "v1 of 33 bytes", id: vectorID, ts: vectorTS, sig: "v1," + b64(33), wantReason: "malformed_signature"},
		{name: "v1a of 32 bytes", id: vectorID, ts: vectorTS, sig: "v1a," + b64(32), wantReason: "malformed_signature"},
	}
	for _, tc := range tests {
		keyID, err := v.Verify(tc.id, tc.ts, tc.sig, []byte(vectorBody))
		if reasonOf(err) != tc.wantReason {
			t.Errorf("%s: reason %q, want %q", tc.name, reasonOf(err), tc.wantReason)
		}
		if (keyID != "") != (tc.wantReason == "") {
			t.Errorf("%s: key ID %q with reason %q", tc.name, keyID, reasonOf(err))
		}
	}
}

// TestVerifyContent checks that each part of the signed content, the key and the clock
// matter, for both schemes.
func TestVerifyContent(t *testing.T) {
	const minute = 60
	now := vectorTime().Unix()
	for _, scheme := range []struct{ name, signer, receiver string }{
		{"hmac", symmetricSecret, symmetricSecret},
		{"ed25519", asymmetricSecret, asymmetricPublic},
	} {
		body := []byte(`{"type":"auth0.post_login","data":{"user":{"email":"ada@example.com"}}}`)
		sig, err := Sign(scheme.signer, vectorID, vectorTime(), body)
		if err != nil {
			t.Fatal(err)
		}
		flip := func(i int) []byte { b := bytes.Clone(body); b[i] ^= 1; return b }
		tests := []struct {
			name, id, ts, sig string
			body              []byte
			now               int64
			receiver          string
			wantReason        string
		}{
			{name: "as signed", body: body},
			{name: "first body byte changed", body: flip(0), wantReason: "no_match"},
			{name: "middle body byte changed", body: flip(len(body) / 2), wantReason: "no_match"},
			{name: "last body byte changed", body: flip(len(body) - 1), wantReason: "no_match"},
			{name: "body with a trailing newline", body: append(bytes.Clone(body), '\n'), wantReason: "no_match"},
			{name: "other id", id: vectorID + "x", body: body, wantReason: "no_match"},
			{name: "other timestamp within tolerance", ts: "1614265331", body: body, wantReason: "no_match"},
			{name: "wrong secret", body: body, receiver: "whsec_" + b64(32), wantReason: "no_match"},
			{name: "wrong public key", body: body, receiver: "whpk_" + b64(32), wantReason: "no_match"},
			{name: "5 minutes old", body: body, now: now + 5*minute},
			{name: "5 minutes ahead", body: body, now: now - 5*minute},
			{name: "6 minutes old", body: body, now: now + 6*minute, wantReason: "stale_timestamp"},
			{name: "6 minutes ahead", body: body, now: now - 6*minute, wantReason: "stale_timestamp"},
		}
		for _, tc := range tests {
			tc.id = cmp.Or(tc.id, vectorID)
			tc.ts = cmp.Or(tc.ts, vectorTS)
			tc.now = cmp.Or(tc.now, now)
			tc.receiver = cmp.Or(tc.receiver, scheme.receiver)
			v, err := NewVerifier([]string{tc.receiver}, 0, fixedClock(tc.now))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := v.Verify(tc.id, tc.ts, sig, tc.body); reasonOf(err) != tc.wantReason {
				t.Errorf("%s %s: reason %q, want %q", scheme.name, tc.name, reasonOf(err), tc.wantReason)
			}
		}
	}
}

func TestSignatureErrorOutcome(t *testing.T) {
	all := Reasons()
	if len(all) != 8 {
		t.Errorf("Reasons has %d reasons, want 8: %q", len(all), all)
	}
	all[0] = "changed by a caller"
	if Reasons()[0] == all[0] {
		t.Errorf("Reasons shares its array with callers: a caller's write changed the next answer")
	}
	for _, r := range Reasons() {
		want := "invalid_signature"
		if r == "stale_timestamp" {
			want = "stale_timestamp"
		}
		e := &SignatureError{Reason: r}
		if e.Outcome() != want {
			t.Errorf("%s: Outcome %q, want %q", r, e.Outcome(), want)
		}
		if !strings.Contains(e.Error(), r) {
			t.Errorf("%s: Error %q does not name the reason", r, e.Error())
		}
	}
}

func TestSignErrors(t *testing.T) {
	tests := []struct {
		name, secret, id string
		at               time.Time
		wantErr          string
	}{
		{name: "public key", secret: asymmetricPublic, id: vectorID, at: vectorTime(), wantErr: "cannot sign"},
		{name: "bad secret", secret: "whsec_", id: vectorID, at: vectorTime(), wantErr: "decodes to 0 bytes"},
		{name: "bad id", secret: symmetricSecret, id: "msg 1", at: vectorTime(), wantErr: "message id"},
		{name: "empty id", secret: symmetricSecret, id: "", at: vectorTime(), wantErr: "message id"},
		{name: "before 1970", secret: symmetricSecret, id: vectorID, at: time.Unix(-1, 0), wantErr: "1970"},
	}
	for _, tc := range tests {
		got, err := Sign(tc.secret, tc.id, tc.at, []byte(vectorBody))
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) || got != "" {
			t.Errorf("%s: Sign = %q, %v; want an error containing %q", tc.name, got, err, tc.wantErr)
		}
	}
}

func TestNewMessageID(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := NewMessageID()
		if !regexp.MustCompile(`^msg_[A-Z2-7]{26}$`).MatchString(id) || !validMessageID(id) {
			t.Fatalf("NewMessageID = %q, want msg_ and 26 base32 characters", id)
		}
		if seen[id] {
			t.Fatalf("NewMessageID repeated %q", id)
		}
		seen[id] = true
	}
}

// TestVerifyConcurrent shares one Verifier (and its pools) between goroutines; run with
// -race. Each goroutine checks its own answers, so a pooled state leaking between
// requests would show as a wrong result, not only as a race report.
func TestVerifyConcurrent(t *testing.T) {
	v := mustVerifier(t, symmetricSecret, "whsec_"+b64(32), asymmetricPublic)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			secret := []string{symmetricSecret, asymmetricSecret}[g%2]
			for i := range 200 {
				body := fmt.Appendf(nil, `{"g":%d,"i":%d}`, g, i)
				sig, _ := Sign(secret, vectorID, vectorTime(), body)
				if _, err := v.Verify(vectorID, vectorTS, sig, body); err != nil {
					errs <- fmt.Errorf("goroutine %d request %d: %w", g, i, err)
					return
				}
				if _, err := v.Verify(vectorID, vectorTS, sig, body[1:]); reasonOf(err) != "no_match" {
					errs <- fmt.Errorf("goroutine %d request %d altered: reason %q, want no_match", g, i, reasonOf(err))
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
