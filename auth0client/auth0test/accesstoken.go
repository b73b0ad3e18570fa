package auth0test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"time"
)

// accessToken is what the tenant keeps of a Management API token it issued:
// when it expires and the scopes it carries. Like Auth0's, a token keeps
// the scopes it was issued with, whatever the grant says later.
type accessToken struct {
	expiry time.Time
	scopes []string
}

// issueToken makes a client-credentials token for the client with the
// scopes granted to it now. The token is a JWT with the claims of Auth0's
// Management API tokens (iss, sub client@clients, aud, iat, exp, scope as
// one space-separated string, gty, azp) and a jti, so two tokens issued in
// the same second differ and a revoked one cannot come back. Auth0 signs
// with RS256; the emulator signs with HS256 and a key of its own: nothing
// but the tenant checks the signature (it looks the token up), and an RSA
// key made for every tenant would slow every test that fetches a token.
func (t *Tenant) issueToken(at time.Time) (string, []string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	scopes := slices.Clone(t.grant)
	expiry := at.Add(tokenLifetime)
	token, err := signHS256(t.tokenKey, map[string]any{
		"iss":   t.URL() + "/",
		"sub":   t.clientID + "@clients",
		"aud":   t.URL() + "/api/v2/",
		"iat":   at.Unix(),
		"exp":   expiry.Unix(),
		"jti":   randomHex(16),
		"scope": strings.Join(scopes, " "),
		"gty":   "client-credentials",
		"azp":   t.clientID,
	})
	if err != nil {
		return "", nil, err
	}
	t.tokens[token] = accessToken{expiry: expiry, scopes: scopes}
	return token, scopes, nil
}

// signHS256 makes a compact JWT of claims signed with key.
func signHS256(key []byte, claims map[string]any) (string, error) {
	header, err := json.Marshal(map[string]string{"alg": "HS256", "typ": "JWT"})
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	b64 := base64.RawURLEncoding.EncodeToString
	signed := b64(header) + "." + b64(payload)
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(signed))
	return signed + "." + b64(mac.Sum(nil)), nil
}
