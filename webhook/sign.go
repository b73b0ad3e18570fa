package webhook

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

type keyKind uint8

const (
	keyHMAC       keyKind = iota + 1 // whsec_
	keyEd25519Pub                    // whpk_
	keyEd25519Sec                    // whsk_
)

// Key is one parsed Standard Webhooks key: a whsec_ HMAC secret, a whpk_ ed25519 public
// key or a whsk_ ed25519 private key. Every fmt verb prints only ID, so a Key that ends
// up in a log line or an error does not leak the secret.
type Key struct {
	kind    keyKind
	secret  []byte             // whsec_: the HMAC key
	public  ed25519.PublicKey  // whpk_ and whsk_
	private ed25519.PrivateKey // whsk_ only
	id      string
}

// ID returns a stable, non-secret name for the key, for logs and metric labels:
// "whsec:" or "whpk:" and the first 8 hex digits of the SHA-256 of the key bytes. A
// whsk_ private key has the ID of its public key, so signer and verifier agree on it.
func (k Key) ID() string { return k.id }

// String returns ID.
func (k Key) String() string { return k.id }

// Format prints ID whatever the verb, so %x or %#v cannot dump the key bytes.
func (k Key) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, k.id) }

// ParseKey parses a key in its Standard Webhooks text form. Errors say which rule failed
// and never repeat the key.
func ParseKey(s string) (Key, error) {
	prefix, encoded, ok := strings.Cut(s, "_")
	if !ok || (prefix != "whsec" && prefix != "whpk" && prefix != "whsk") {
		return Key{}, errors.New("webhook key: want a whsec_, whpk_ or whsk_ prefix")
	}
	if strings.ContainsAny(encoded, " \t\r\n") {
		return Key{}, fmt.Errorf("webhook key %s_: contains whitespace", prefix)
	}
	raw, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil || base64.StdEncoding.EncodeToString(raw) != encoded {
		return Key{}, fmt.Errorf("webhook key %s_: the part after the prefix is not canonical standard base64 with padding", prefix)
	}
	switch prefix {
	case "whsec":
		if len(raw) < minSecretLen || len(raw) > maxSecretLen {
			return Key{}, fmt.Errorf("webhook key whsec_: decodes to %d bytes, want %d to %d", len(raw), minSecretLen, maxSecretLen)
		}
		return Key{kind: keyHMAC, secret: raw, id: keyID("whsec:", raw)}, nil
	case "whpk":
		if len(raw) != ed25519.PublicKeySize {
			return Key{}, fmt.Errorf("webhook key whpk_: decodes to %d bytes, want %d", len(raw), ed25519.PublicKeySize)
		}
		return Key{kind: keyEd25519Pub, public: raw, id: keyID("whpk:", raw)}, nil
	default:
		if len(raw) != ed25519.PrivateKeySize {
			return Key{}, fmt.Errorf("webhook key whsk_: decodes to %d bytes, want %d (seed then public key)", len(raw), ed25519.PrivateKeySize)
		}
		priv := ed25519.NewKeyFromSeed(raw[:ed25519.SeedSize])
		pub := priv.Public().(ed25519.PublicKey)
		if !hmac.Equal(pub, raw[ed25519.SeedSize:]) {
			return Key{}, errors.New("webhook key whsk_: the public half does not belong to the seed")
		}
		return Key{kind: keyEd25519Sec, public: pub, private: priv, id: keyID("whpk:", pub)}, nil
	}
}

func keyID(prefix string, b []byte) string {
	sum := sha256.Sum256(b)
	return prefix + hex.EncodeToString(sum[:4])
}

// Sign returns the webhook-signature entry for body the way a Standard Webhooks sender
// computes it: "v1,<base64 HMAC-SHA256>" for a whsec_ secret, "v1a,<base64 ed25519>"
// for a whsk_ private key. The signed content is id, the Unix seconds of timestamp and
// the raw body joined by dots; send the same seconds in webhook-timestamp. It refuses
// an id or timestamp that Verify would reject, so what it signs can be verified.
func Sign(secret, id string, timestamp time.Time, body []byte) (string, error) {
	k, err := ParseKey(secret)
	if err != nil {
		return "", err
	}
	if !validMessageID(id) {
		return "", fmt.Errorf("sign: message id must be 1 to %d characters of A-Z, a-z, 0-9, _ and -", maxMessageIDLen)
	}
	ts := timestamp.Unix()
	if ts < 0 {
		return "", errors.New("sign: timestamp is before 1970")
	}
	content := make([]byte, 0, len(id)+len(body)+22)
	content = append(append(content, id...), '.')
	content = append(strconv.AppendInt(content, ts, 10), '.')
	content = append(content, body...)
	switch k.kind {
	case keyHMAC:
		mac := hmac.New(sha256.New, k.secret)
		mac.Write(content)
		return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)), nil
	case keyEd25519Sec:
		return "v1a," + base64.StdEncoding.EncodeToString(ed25519.Sign(k.private, content)), nil
	default:
		return "", errors.New("sign: a whpk_ public key cannot sign; use its whsk_ private key")
	}
}

// NewMessageID returns a fresh webhook-id: "msg_" and 26 characters of the RFC 4648
// base32 alphabet carrying 128 random bits from crypto/rand, within the id grammar
// Verify accepts.
func NewMessageID() string { return "msg_" + rand.Text() }
