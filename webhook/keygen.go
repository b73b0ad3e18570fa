package webhook

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
)

// secretLen is the size of a new whsec_ secret: 256 bits, inside the 24 to 64 bytes
// Standard Webhooks allows.
const secretLen = 32

// NewSecret returns a new whsec_ HMAC secret of 32 bytes from crypto/rand. The sender
// and every receiver hold the same secret.
func NewSecret() string {
	b := make([]byte, secretLen)
	_, _ = rand.Read(b) // crypto/rand.Read never returns an error
	return "whsec_" + base64.StdEncoding.EncodeToString(b)
}

// NewKeyPair returns a new ed25519 key pair in Standard Webhooks form: the whsk_ private
// key (seed then public key, as ParseKey reads it) the sender signs with, and the whpk_
// public key receivers verify with; a receiver never needs the private one.
func NewKeyPair() (private, public string) {
	pub, priv, err := ed25519.GenerateKey(nil) // nil: crypto/rand
	if err != nil {
		panic(err) // crypto/rand never fails
	}
	return "whsk_" + base64.StdEncoding.EncodeToString(priv), "whpk_" + base64.StdEncoding.EncodeToString(pub)
}
