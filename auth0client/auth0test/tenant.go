package auth0test

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultConnection is the database connection every tenant has, named like
// the one Auth0 creates for a new tenant.
const DefaultConnection = "Username-Password-Authentication"

// Config configures an emulated tenant. The zero value is usable.
type Config struct {
	// Addr is the listen address; default 127.0.0.1:0 (a free loopback port).
	Addr string
	// ClientID and ClientSecret are the machine-to-machine credentials the
	// tenant accepts at /oauth/token; random when empty.
	ClientID, ClientSecret string
	// Scopes are the Management API scopes granted to that client, which
	// its tokens carry; nil grants MailproofScopes, an empty non-nil slice
	// grants none. SetScopes changes the grant later.
	Scopes []string
	// Rate and Burst size the Management API token bucket (requests per
	// second, bucket size). Both zero means 50/s with a burst of 50; Burst
	// zero with a Rate means a burst of ceil(Rate). They size the custom plan.
	Rate  float64
	Burst int
	// Plan selects the rate limits of an Auth0 plan, per endpoint family
	// (PlanFree, PlanEssentials, PlanEnterprise, PlanNonProduction), or
	// PlanCustom, the default when empty. Start refuses an unknown plan, and
	// Rate or Burst with a plan other than PlanCustom.
	Plan string
	// Connections names the database connections users may be created in;
	// default just DefaultConnection.
	Connections []string
	// ConnectionOptions sets the password and username options of the
	// connections named in Connections (by name); a connection without an
	// entry has the zero ConnectionOptions: password policy "none", as
	// Auth0 documents for a new connection. Start refuses options Auth0
	// would refuse, and options for a connection not in Connections.
	ConnectionOptions map[string]ConnectionOptions
	// BuildDelay is how long a created or updated Action takes to build
	// (by the tenant clock): "pending" for the first half, "building" for
	// the second, then "built"; default 200ms.
	BuildDelay time.Duration
	// Now is the clock for timestamps, token expiry and the rate limiter;
	// default time.Now. Latency and hangs always use real time.
	Now func() time.Time
	// SearchLag is how long a write takes to reach the user search index
	// (by the tenant clock); default 0, every write searchable at once.
	// The package documentation describes the model.
	SearchLag time.Duration
	// ExportDelay is how long a user export job takes to complete (by the
	// tenant clock): pending for the first half, processing for the
	// second; default 200ms.
	ExportDelay time.Duration
}

// Tenant is a running emulated tenant. All methods are safe for concurrent
// use.
type Tenant struct {
	now          func() time.Time
	clientID     string
	clientSecret string
	connections  map[string]bool
	connIDs      map[string]string // connection name → con_… id
	connOpts     map[string]ConnectionOptions
	buildDelay   time.Duration
	searchLag    time.Duration
	exportDelay  time.Duration
	exportKey    []byte // signs export download links
	exportKeyID  string
	domain       string
	caDir        string
	caFile       string
	pool         *x509.CertPool
	srv          *http.Server
	mux          *http.ServeMux

	closed    chan struct{}
	closeOnce sync.Once
	inflight  sync.WaitGroup
	closeMu   sync.Mutex // orders inflight.Add against Close's Wait
	closing   bool
	hanging   atomic.Int32 // requests held by a Hang fault, for tests
	signer    signer       // the ID token key, made on first use

	mu          sync.Mutex
	limits      rateLimits
	resetLimits keyedBuckets           // change_password, per IP address and email
	grant       []string               // scopes granted to the client (SetScopes)
	tokenKey    []byte                 // signs access tokens (accesstoken.go)
	tokens      map[string]accessToken // issued access tokens
	users       map[string]*record
	index       map[string][]indexed // user id → versions the search may see
	tickets     map[string]*ticket   // ticket code → password-change link
	outbox      []Email
	logins      []PostLoginEvent
	loginHooks  []func(PostLoginEvent) // OnLogin
	faults      []*activeFault
	changes     []*pendingChange // armed email changes (ScheduleEmailChange)
	calls       []Call
	actions     map[string]*action
	failBuilds  int                  // FailNextBuild calls not yet used
	bindings    map[string][]binding // trigger id → bindings in order
	jobs        map[string]*exportJob
}

// Start listens on cfg.Addr and serves the tenant over HTTPS until Close.
func Start(cfg Config) (*Tenant, error) {
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	addr := cfg.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	t := &Tenant{
		now:          now,
		clientID:     cfg.ClientID,
		clientSecret: cfg.ClientSecret,
		connections:  map[string]bool{},
		connIDs:      map[string]string{},
		closed:       make(chan struct{}),
		tokens:       map[string]accessToken{},
		tokenKey:     []byte(randomHex(32)),
		users:        map[string]*record{},
		index:        map[string][]indexed{},
		searchLag:    max(cfg.SearchLag, 0),
		tickets:      map[string]*ticket{},
		actions:      map[string]*action{},
		bindings:     map[string][]binding{},
		jobs:         map[string]*exportJob{},
		exportKey:    []byte(randomHex(32)),
		exportKeyID:  "K" + strings.ToUpper(randomAlnum(13)),
	}
	if t.buildDelay = cfg.BuildDelay; t.buildDelay <= 0 {
		t.buildDelay = defaultBuildDelay
	}
	if t.exportDelay = cfg.ExportDelay; t.exportDelay <= 0 {
		t.exportDelay = defaultExportDelay
	}
	if t.clientID == "" {
		t.clientID = randomAlnum(32)
	}
	if t.clientSecret == "" {
		t.clientSecret = randomAlnum(64)
	}
	t.grant = slices.Clone(MailproofScopes)
	if cfg.Scopes != nil {
		t.grant = slices.Clone(cfg.Scopes)
	}
	conns := cfg.Connections
	if len(conns) == 0 {
		conns = []string{DefaultConnection}
	}
	for _, c := range conns {
		t.connections[c] = true
		t.connIDs[c] = "con_" + randomAlnum(16)
	}
	opts, err := connectionOptions(conns, cfg.ConnectionOptions)
	if err != nil {
		return nil, err
	}
	t.connOpts = opts
	limits, err := newRateLimits(cfg.Plan, cfg.Rate, cfg.Burst, now())
	if err != nil {
		return nil, err
	}
	t.limits = limits
	t.resetLimits = newKeyedBuckets(resetEmailLimit)

	// Clients check certificates against the real clock, whatever the
	// tenant's clock says.
	certs, err := newCertBundle(time.Now())
	if err != nil {
		return nil, err
	}
	t.pool = certs.pool
	if t.caDir, t.caFile, err = writeCAFile(certs.caPEM); err != nil {
		return nil, err
	}

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		_ = os.RemoveAll(t.caDir)
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	t.domain = ln.Addr().String()
	t.mux = t.routes()
	t.srv = &http.Server{
		Handler:           http.HandlerFunc(t.serve),
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{certs.leaf}, MinVersion: tls.VersionTLS12},
		ReadHeaderTimeout: 10 * time.Second,
		// Clients that do not trust the CA cause handshake errors by design
		// in tests; the standard logger would only add noise.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	// ServeTLS only returns once the listener is closed or broken; either
	// way every later call fails loudly at the client, so the error has
	// nowhere more useful to go.
	go func() { _ = t.srv.ServeTLS(ln, "", "") }()
	return t, nil
}

// Domain returns host:port, what management.New and the Auth0 domain
// settings expect.
func (t *Tenant) Domain() string { return t.domain }

// URL returns the tenant's base URL, https://host:port.
func (t *Tenant) URL() string { return "https://" + t.domain }

// CAFile returns the path of a PEM file holding the CA that signed the
// tenant's certificate; it is removed on Close.
func (t *Tenant) CAFile() string { return t.caFile }

// CertPool returns a pool that trusts the tenant's certificate.
func (t *Tenant) CertPool() *x509.CertPool { return t.pool }

// ClientID returns the client id /oauth/token accepts.
func (t *Tenant) ClientID() string { return t.clientID }

// ClientSecret returns the client secret /oauth/token accepts.
func (t *Tenant) ClientSecret() string { return t.clientSecret }

// Close stops the server, releases hanging requests, waits for in-flight
// handlers and removes the CA file. It is safe to call more than once.
func (t *Tenant) Close() {
	t.closeOnce.Do(func() {
		t.closeMu.Lock()
		t.closing = true
		t.closeMu.Unlock()
		close(t.closed)
		_ = t.srv.Close()
		t.inflight.Wait()
		_ = os.RemoveAll(t.caDir)
	})
}
