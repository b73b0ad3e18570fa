package auth0test

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"slices"
	"sync"
	"time"
)

// idTokenLifetime is Auth0's default ID token expiration (36000 s).
const idTokenLifetime = 10 * time.Hour

// signer holds the tenant's ID token signing key. RS256 is Auth0's default
// for applications, and the key is published at /.well-known/jwks.json,
// where go-auth0's authentication client fetches it. The 2048-bit key is
// made on first use: most tests never log anyone in.
type signer struct {
	once sync.Once
	key  *rsa.PrivateKey
	kid  string
	err  error
}

func (s *signer) load() (*rsa.PrivateKey, string, error) {
	s.once.Do(func() {
		s.key, s.err = rsa.GenerateKey(rand.Reader, 2048)
		s.kid = randomAlnum(22)
	})
	return s.key, s.kid, s.err
}

// jsonWebKey is one RSA public key in JWKS form.
type jsonWebKey struct {
	Kty string `json:"kty"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	Kid string `json:"kid"`
	N   string `json:"n"`
	E   string `json:"e"`
}

// handleJWKS publishes the signing key. Auth0's keys also carry x5c and
// x5t (a certificate); verifiers do not need them and they are left out.
func (t *Tenant) handleJWKS(w http.ResponseWriter, _ *http.Request) {
	key, kid, err := t.signer.load()
	if err != nil {
		writeOAuthError(w, http.StatusInternalServerError, "server_error", err.Error())
		return
	}
	b64 := base64.RawURLEncoding.EncodeToString
	writeJSON(w, http.StatusOK, map[string][]jsonWebKey{"keys": {{
		Kty: "RSA", Use: "sig", Alg: "RS256", Kid: kid,
		N: b64(key.N.Bytes()),
		E: b64(big.NewInt(int64(key.E)).Bytes()),
	}}})
}

// idToken makes the ID token of a login: the standard claims, then the
// profile claims the scope asks for (email: email and email_verified;
// profile: name, nickname, picture, updated_at), from the user as the login
// found it.
func (t *Tenant) idToken(u User, clientID string, scopes []string, at time.Time) (string, error) {
	claims := map[string]any{
		"iss": t.URL() + "/",
		"sub": u.ID,
		"aud": clientID,
		"iat": at.Unix(),
		"exp": at.Add(idTokenLifetime).Unix(),
	}
	if slices.Contains(scopes, "email") {
		claims["email"] = u.Email
		claims["email_verified"] = u.EmailVerified
	}
	if slices.Contains(scopes, "profile") {
		claims["name"] = u.Name
		claims["nickname"] = u.Nickname
		claims["picture"] = u.Picture
		claims["updated_at"] = iso(u.UpdatedAt)
	}
	return t.signJWT(claims)
}

// signJWT makes an RS256 JWT of claims with the tenant's key.
func (t *Tenant) signJWT(claims map[string]any) (string, error) {
	key, kid, err := t.signer.load()
	if err != nil {
		return "", fmt.Errorf("signing key: %w", err)
	}
	header, err := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "kid": kid})
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	b64 := base64.RawURLEncoding.EncodeToString
	signed := b64(header) + "." + b64(payload)
	sum := sha256.Sum256([]byte(signed))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		return "", fmt.Errorf("sign: %w", err)
	}
	return signed + "." + b64(sig), nil
}
