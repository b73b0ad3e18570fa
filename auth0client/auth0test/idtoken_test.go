package auth0test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jwt"
)

// claims decodes a JWT's payload without checking it.
func claims(t *testing.T, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("id_token %q is not a JWT", token)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("id_token payload: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("id_token payload: %v", err)
	}
	return m
}

// TestIDTokenVerifies checks the ID token the way go-auth0's
// authentication client does (its internal idtokenvalidator, on the same
// jwx library): RS256 with the key from /.well-known/jwks.json, issuer
// https://DOMAIN/, audience the client id, sub and iat required, times
// checked against the real clock.
func TestIDTokenVerifies(t *testing.T) {
	tn := NewT(t, Config{})
	c := httpClient(tn, 5*time.Second)
	u := tn.AddUser(UserSeed{Email: "ada@example.com", Password: strongPassword})
	resp := passwordLogin(t, tn, c, loginForm(tn, "ada@example.com", strongPassword, DefaultConnection, "openid profile email"))
	if resp.status != http.StatusOK {
		t.Fatalf("login: status %d (%s)", resp.status, resp.body)
	}
	idt := resp.json(t)["id_token"].(string)

	ctx := context.Background()
	keys, err := jwk.Fetch(ctx, tn.URL()+"/.well-known/jwks.json", jwk.WithHTTPClient(c))
	if err != nil {
		t.Fatalf("fetch JWKS: %v", err)
	}
	tok, err := jwt.Parse([]byte(idt),
		jwt.WithKeySet(keys),
		jwt.WithValidate(true),
		jwt.WithAcceptableSkew(time.Minute),
		jwt.WithRequiredClaim("aud"),
		jwt.WithRequiredClaim("sub"),
		jwt.WithRequiredClaim("iss"),
		jwt.WithRequiredClaim("iat"),
		jwt.WithAudience(tn.ClientID()),
		jwt.WithIssuer("https://"+tn.Domain()+"/"),
	)
	if err != nil {
		t.Fatalf("id_token does not verify: %v", err)
	}
	if tok.Subject() != u.ID || time.Until(tok.Expiration()) < 9*time.Hour {
		t.Errorf("id_token: sub %q, exp %v; want %s and 10 hours from now", tok.Subject(), tok.Expiration(), u.ID)
	}
	for k, want := range map[string]any{"email": "ada@example.com", "email_verified": false, "nickname": "ada", "name": "ada@example.com"} {
		if got, _ := tok.Get(k); got != want {
			t.Errorf("id_token claim %s: %v, want %v", k, got, want)
		}
	}

	// A token signed by another key must not verify against the JWKS.
	other := NewT(t, Config{ClientID: tn.ClientID(), ClientSecret: tn.ClientSecret()})
	other.AddUser(UserSeed{Email: "ada@example.com", Password: strongPassword})
	foreign := passwordLogin(t, other, httpClient(other, 5*time.Second),
		loginForm(other, "ada@example.com", strongPassword, DefaultConnection, "openid")).json(t)["id_token"].(string)
	if _, err := jwt.Parse([]byte(foreign), jwt.WithKeySet(keys)); err == nil {
		t.Errorf("a token from another tenant verifies against this tenant's keys")
	}
}
