package webhook

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestNewSecretSignsWhatAVerifierAccepts(t *testing.T) {
	a, b := NewSecret(), NewSecret()
	if a == b {
		t.Fatal("two new secrets are equal")
	}
	k, err := ParseKey(a)
	if err != nil {
		t.Fatalf("ParseKey(NewSecret()): %v", err)
	}
	if !strings.HasPrefix(k.ID(), "whsec:") || len(k.secret) != secretLen {
		t.Errorf("new secret: id %s, %d bytes; want a whsec: id and %d bytes", k.ID(), len(k.secret), secretLen)
	}
	roundTrip(t, a, a)
}

func TestNewKeyPairSignsWhatItsPublicKeyVerifies(t *testing.T) {
	private, public := NewKeyPair()
	if !strings.HasPrefix(private, "whsk_") || !strings.HasPrefix(public, "whpk_") {
		t.Fatalf("NewKeyPair() = %.5s…, %.5s…; want whsk_ then whpk_", private, public)
	}
	sk, err := ParseKey(private)
	if err != nil {
		t.Fatalf("ParseKey(private): %v", err)
	}
	pk, err := ParseKey(public)
	if err != nil {
		t.Fatalf("ParseKey(public): %v", err)
	}
	if sk.ID() != pk.ID() {
		t.Errorf("private key id %s, public key id %s; want the same", sk.ID(), pk.ID())
	}
	roundTrip(t, private, public)
	if other, _ := NewKeyPair(); other == private {
		t.Error("two new key pairs are equal")
	}
}

// roundTrip signs with signer and checks a Verifier holding only verifierKey accepts it.
func roundTrip(t *testing.T, signer, verifierKey string) {
	t.Helper()
	now := time.Now()
	body := []byte(`{"type":"auth0.post_login"}`)
	sig, err := Sign(signer, "msg_keygen", now, body)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	v, err := NewVerifier([]string{verifierKey}, DefaultTolerance, func() time.Time { return now })
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	if _, err := v.Verify("msg_keygen", strconv.FormatInt(now.Unix(), 10), sig, body); err != nil {
		t.Errorf("Verify: %v", err)
	}
}
