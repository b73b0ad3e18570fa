// Package auth0client holds the Auth0 Management and Authentication API
// calls mailproof makes, on github.com/auth0/go-auth0. No SDK type leaves
// the package: callers see User, a few plain methods, and errors they match
// with errors.Is (ErrUserNotFound, ErrRateLimited, ErrUnauthorized,
// ErrMissingScope, ErrTransient, ErrPermanent). The client never retries:
// mailproof's worker owns retries and the shared rate budget. The
// Management API scopes mailproof needs are listed once, in scopes.go.
package auth0client

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/auth0/go-auth0/management"
	"golang.org/x/oauth2"
)

// DefaultTimeout is the per-call timeout when Config.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// DefaultUserAgent names mailproof in Auth0's logs when Config.UserAgent is
// empty.
const DefaultUserAgent = "mailproof"

// Config is what a Client needs to reach one tenant.
type Config struct {
	// Domain is the tenant's host (acme.eu.auth0.com, or host:port); a
	// scheme or trailing slash is ignored.
	Domain string
	// ClientID and ClientSecret are a machine-to-machine application's
	// credentials for the Management API audience.
	ClientID, ClientSecret string
	// CAFile optionally names a PEM file of extra roots to trust beside the
	// system ones (the tenant emulator's CA).
	CAFile string
	// Timeout bounds one call; default DefaultTimeout. A call that has to
	// fetch a token from a hanging token endpoint can take up to twice as
	// long: golang.org/x/oauth2 tries two ways of sending the credentials,
	// each under this timeout, and the token fetch does not see the call's
	// context.
	Timeout time.Duration
	// UserAgent is sent with every request; default DefaultUserAgent.
	UserAgent string
}

// Client calls one Auth0 tenant. It is safe for concurrent use.
type Client struct {
	domain   string
	clientID string
	http     *http.Client
	// build makes a Management client with a fresh token source; it is
	// rebuilt when Auth0 rejects a cached token (see renew).
	build func() (*management.Management, error)
	m     atomic.Pointer[management.Management]
	// scopeRenewal paces the renewals that scope errors ask for.
	scopeRenewal scopeRenewal
	// answered is when Auth0 last answered a call (see LastAnswer), in Unix nanoseconds.
	answered *atomic.Int64
}

// LastAnswer is when the Management API last answered one of this client's calls with
// anything but a 5xx or a 429: a 200, a 404 or a 400 all show it up and taking calls (a
// token from the Authentication API does not: it is another service). The zero
// time when it never has. The worker reads it to tell a failing job from a failing
// Auth0: while nothing answers, a transient error is not the job's fault and must not
// spend its attempts (proof.Processor.LastAuth0Answer).
func (c *Client) LastAnswer() time.Time {
	n := c.answered.Load()
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// New checks cfg and prepares a client. It makes no network call: the first
// call (or Ping) fetches the token. ctx only carries values; its
// cancellation does not end the client, which refreshes its token long
// after New returns.
func New(ctx context.Context, cfg Config) (*Client, error) {
	var errs []error
	domain := strings.TrimSuffix(cfg.Domain, "/")
	if i := strings.Index(domain, "//"); i >= 0 {
		domain = domain[i+2:]
	}
	if domain == "" {
		errs = append(errs, errors.New("auth0 domain is empty"))
	}
	if cfg.ClientID == "" {
		errs = append(errs, errors.New("auth0 client id is empty"))
	}
	if cfg.ClientSecret == "" {
		errs = append(errs, errors.New("auth0 client secret is empty"))
	}
	if cfg.Timeout < 0 {
		errs = append(errs, fmt.Errorf("auth0 timeout %v is negative", cfg.Timeout))
	}
	roots, err := rootCAs(cfg.CAFile)
	if err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	ua := cfg.UserAgent
	if ua == "" {
		ua = DefaultUserAgent
	}

	base := http.DefaultTransport.(*http.Transport).Clone()
	base.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	answered := new(atomic.Int64)
	hc := &http.Client{Transport: &recorder{base: base, userAgent: ua, answered: answered}, Timeout: timeout}

	// The token source fetches with the *http.Client found in its context
	// under oauth2.HTTPClient, not the one given to WithClient; without it
	// the fetch would use http.DefaultClient: no timeout, no extra CA.
	tokenCtx := context.WithValue(context.WithoutCancel(ctx), oauth2.HTTPClient, hc)
	c := &Client{domain: domain, clientID: cfg.ClientID, http: hc, answered: answered}
	c.build = func() (*management.Management, error) {
		return management.New(domain,
			management.WithClientCredentials(tokenCtx, cfg.ClientID, cfg.ClientSecret),
			management.WithClient(hc),
			management.WithNoRetries(),
			management.WithUserAgent(ua),
		)
	}
	m, err := c.build()
	if err != nil {
		return nil, fmt.Errorf("auth0 management client: %w", err)
	}
	c.m.Store(m)
	return c, nil
}

// rootCAs returns the system pool plus the certificates in caFile; nil (the
// system pool) when caFile is empty.
func rootCAs(caFile string) (*x509.CertPool, error) {
	if caFile == "" {
		return nil, nil
	}
	pemBytes, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("auth0 CA file: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pemBytes) {
		return nil, fmt.Errorf("auth0 CA file %s: no PEM certificate in it", caFile)
	}
	return pool, nil
}

// renew replaces the Management client, and so its cached token, after
// Auth0 rejected the token (revoked grant, rotated signing key): otherwise
// the token source would keep presenting it until it expires, up to a day.
func (c *Client) renew(stale *management.Management) {
	m, err := c.build()
	if err != nil {
		return // the options are the ones New already accepted
	}
	c.m.CompareAndSwap(stale, m)
}

// Ping proves the credentials work by obtaining a token (the cached one
// while it is valid). It spends no Management API budget and no extra
// machine-to-machine token: the request never leaves the process once the
// token is in hand.
func (c *Client) Ping(ctx context.Context) error {
	if _, err := c.local(ctx); err != nil {
		return fmt.Errorf("auth0 ping: %w", err)
	}
	return nil
}

// local makes a request that the recorder answers itself once the SDK has
// attached the token (Ping, TokenScopes), and returns its exchange.
func (c *Client) local(ctx context.Context) (*exchange, error) {
	m := c.m.Load()
	ctx, ex := withExchange(ctx)
	ex.ping = true
	req, err := m.NewRequest(ctx, http.MethodGet, m.URI("users"), nil)
	if err != nil {
		return nil, err
	}
	resp, err := m.Do(req)
	if err != nil {
		return nil, c.classify(m, err, ex, ErrPermanent)
	}
	_ = resp.Body.Close()
	return ex, nil
}
