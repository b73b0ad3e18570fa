package server

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mailproof/mailproof/auth0client"
	"github.com/mailproof/mailproof/proof"
	"github.com/mailproof/mailproof/store"
	"github.com/mailproof/mailproof/webhook"
)

// Config is everything mailproof reads from its environment, validated once at start-up.
// Defaults sit in settings beside each variable's name, so the README table, the error
// messages and the parser cannot drift apart.
type Config struct {
	RedisURL          string
	Auth0Domain       string
	Auth0ClientID     string
	Auth0ClientSecret string
	Auth0CAFile       string
	Auth0Rate         float64
	Auth0AuthRate     float64
	Auth0Timeout      time.Duration
	WebhookSecrets    []string
	AdminToken        string
	Listen            string
	OpsListen         string
	TLSCertFile       string
	TLSKeyFile        string
	MaxConns          int
	IdleTimeout       time.Duration
	LogFormat         string
	LogLevel          string
	ShutdownGrace     time.Duration
	BodyLimit         int64
	Tolerance         time.Duration
	RedisTimeout      time.Duration
	RedisDurability   string
	// RedisMinReplicas is how many replicas must confirm an accepted event or a job's
	// outcome before it counts as done (WAIT); 0 waits for none.
	RedisMinReplicas int
	// RecordLayout is how records are written (store.WithRecordLayout): auto, packed
	// or hash.
	RecordLayout      string
	Workers           int
	VisibilityTimeout time.Duration
	MaxAttempts       int
	RetryBase         time.Duration
	RetryMax          time.Duration
	PendingTTL        time.Duration
	// ReconcileInterval is how often the reconcile sweep runs; 0 turns it off.
	ReconcileInterval time.Duration
	// ReconcileExportAbove: with more pending records than this, the sweep reads a user
	// export instead of searching.
	ReconcileExportAbove int
}

// Setting describes one MAILPROOF_* variable: its default, whether it is required or
// secret (secrets also accept NAME_FILE), and how it lands in Config.
type Setting struct {
	Name     string
	Default  string
	Required bool
	Secret   bool
	Help     string
	set      func(*Config, string) error
}

// settings lists every variable mailproof reads, in the order the README shows them.
var settings = [...]Setting{
	{Name: "MAILPROOF_REDIS_URL", Required: true, Secret: true, Help: "Redis URL, e.g. redis://:password@host:6379/0 (rediss:// for TLS); Sentinel adds ?master_name=NAME&addr=…, Cluster ?addr=…&addr=… (see the README)", set: func(c *Config, v string) error {
		if err := store.CheckURL(v); err != nil {
			return err
		}
		c.RedisURL = v
		return nil
	}},
	{Name: "MAILPROOF_AUTH0_DOMAIN", Required: true, Help: "tenant domain, e.g. acme.eu.auth0.com (no scheme)", set: func(c *Config, v string) error {
		if strings.Contains(v, "/") || strings.ContainsAny(v, " \t") {
			return errors.New("must be a bare host name such as acme.eu.auth0.com, without https:// or a path")
		}
		c.Auth0Domain = v
		return nil
	}},
	{Name: "MAILPROOF_AUTH0_CLIENT_ID", Required: true, Help: "machine-to-machine application client id", set: func(c *Config, v string) error { c.Auth0ClientID = v; return nil }},
	{Name: "MAILPROOF_AUTH0_CLIENT_SECRET", Required: true, Secret: true, Help: "machine-to-machine application client secret", set: func(c *Config, v string) error { c.Auth0ClientSecret = v; return nil }},
	{Name: "MAILPROOF_WEBHOOK_SECRETS", Required: true, Secret: true, Help: "comma-separated whsec_… secrets or whpk_… public keys; several at once while rotating", set: func(c *Config, v string) error {
		var keys []string
		var errs []error
		for i, s := range strings.Split(v, ",") {
			s = strings.TrimSpace(s)
			if _, err := webhook.ParseKey(s); err != nil {
				errs = append(errs, fmt.Errorf("entry %d: %w", i+1, err))
				continue
			}
			keys = append(keys, s)
		}
		c.WebhookSecrets = keys
		return errors.Join(errs...)
	}},
	{Name: "MAILPROOF_ADMIN_TOKEN", Secret: true, Help: "bearer token for the admin API; the admin API answers 404 without it", set: func(c *Config, v string) error {
		if len(v) < 16 {
			return errors.New("must be at least 16 characters")
		}
		c.AdminToken = v
		return nil
	}},
	{Name: "MAILPROOF_LISTEN", Default: ":8080", Help: "main listener (webhook and admin API)", set: setAddr(func(c *Config) *string { return &c.Listen })},
	{Name: "MAILPROOF_OPS_LISTEN", Default: ":9090", Help: "ops listener (/healthz, /readyz, /metrics, status page); keep it private", set: setAddr(func(c *Config) *string { return &c.OpsListen })},
	{Name: "MAILPROOF_TLS_CERT_FILE", Help: "PEM certificate for the main listener (with MAILPROOF_TLS_KEY_FILE)", set: func(c *Config, v string) error { c.TLSCertFile = v; return nil }},
	{Name: "MAILPROOF_TLS_KEY_FILE", Help: "PEM private key for the main listener", set: func(c *Config, v string) error { c.TLSKeyFile = v; return nil }},
	// 4096: an idle keep-alive connection holds about 25 KB (10,000 held 245 MB), so a
	// full cap stays near 100 MB, inside the 256 MiB deploy/k8s gives the pod; a receiver
	// answering in milliseconds serves thousands of logins a second on far fewer.
	{Name: "MAILPROOF_MAX_CONNS", Default: "4096", Help: "connections the main listener holds open at once; more wait until one closes", set: func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1_000_000 {
			return errors.New("must be a whole number between 1 and 1000000")
		}
		c.MaxConns = n
		return nil
	}},
	// 30s: an Auth0 Action instance reuses its connection for the logins it handles
	// seconds apart; idle ones give their slot back three times sooner than Go's 90 s.
	{Name: "MAILPROOF_IDLE_TIMEOUT", Default: "30s", Help: "an idle keep-alive connection to the main listener is closed after this long", set: func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Second {
			return errors.New("must be a duration of at least 1s, such as 30s")
		}
		c.IdleTimeout = d
		return nil
	}},
	{Name: "MAILPROOF_AUTH0_CA_FILE", Help: "extra PEM CA to trust for the tenant (the bundled emulator, a TLS-inspecting proxy)", set: func(c *Config, v string) error {
		if _, err := os.Stat(v); err != nil {
			return fmt.Errorf("cannot read %s: %w", v, errors.Unwrap(err))
		}
		c.Auth0CAFile = v
		return nil
	}},
	{Name: "MAILPROOF_AUTH0_RATE", Default: "2", Help: "Management API calls per second shared by all replicas (Auth0's lowest tier is 2)", set: func(c *Config, v string) error {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f <= 0 || f > 10000 {
			return errors.New("must be a number of requests per second above 0")
		}
		c.Auth0Rate = f
		return nil
	}},
	{Name: "MAILPROOF_AUTH0_AUTH_RATE", Default: "5", Help: "Authentication API calls per second (reset emails) shared by all replicas, burst 10 (Auth0 Free allows 300 a minute)", set: func(c *Config, v string) error {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f <= 0 || f > 10000 {
			return errors.New("must be a number of requests per second above 0")
		}
		c.Auth0AuthRate = f
		return nil
	}},
	{Name: "MAILPROOF_AUTH0_TIMEOUT", Default: "10s", Help: "timeout of one Management API call", set: setDuration(func(c *Config) *time.Duration { return &c.Auth0Timeout })},
	{Name: "MAILPROOF_LOG_FORMAT", Default: "json", Help: "json or console", set: func(c *Config, v string) error {
		if v != "json" && v != "console" {
			return errors.New(`must be "json" or "console"`)
		}
		c.LogFormat = v
		return nil
	}},
	{Name: "MAILPROOF_LOG_LEVEL", Default: "info", Help: "debug, info, warn or error", set: func(c *Config, v string) error {
		switch v {
		case "debug", "info", "warn", "error":
			c.LogLevel = v
			return nil
		}
		return errors.New("must be debug, info, warn or error")
	}},
	{Name: "MAILPROOF_SHUTDOWN_GRACE", Default: "20s", Help: "how long SIGTERM waits for in-flight requests and jobs", set: setDuration(func(c *Config) *time.Duration { return &c.ShutdownGrace })},
	{Name: "MAILPROOF_BODY_LIMIT", Default: "65536", Help: "largest accepted request body in bytes", set: func(c *Config, v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1024 || n > 16<<20 {
			return errors.New("must be a byte count between 1024 and 16777216")
		}
		c.BodyLimit = n
		return nil
	}},
	{Name: "MAILPROOF_SIGNATURE_TOLERANCE", Default: "5m", Help: "accepted clock difference of webhook-timestamp, both directions", set: setDuration(func(c *Config) *time.Duration { return &c.Tolerance })},
	{Name: "MAILPROOF_REDIS_TIMEOUT", Default: "1s", Help: "deadline of one Redis call on the request path", set: setDuration(func(c *Config) *time.Duration { return &c.RedisTimeout })},
	{Name: "MAILPROOF_REDIS_DURABILITY", Default: DurabilityStrict, Help: "strict refuses a Redis without AOF; relaxed starts on one and warns that a Redis restart loses acknowledged events", set: func(c *Config, v string) error {
		if v != DurabilityStrict && v != DurabilityRelaxed {
			return errors.New(`must be "strict" or "relaxed"`)
		}
		c.RedisDurability = v
		return nil
	}},
	{Name: "MAILPROOF_RECORD_LAYOUT", Default: store.LayoutAuto, Help: "how records are written: packed (about 160 B a pending record), hash (the release before's layout, which its replicas read: for a rolling upgrade from it) or auto (packed on a new Redis, hash on one an earlier release used, until a replica set to packed records that choice)", set: func(c *Config, v string) error {
		if !store.ValidLayout(v) {
			return errors.New("must be auto, packed or hash")
		}
		c.RecordLayout = v
		return nil
	}},
	{Name: "MAILPROOF_REDIS_MIN_REPLICAS", Default: "0", Help: "replicas that must confirm an event before the receiver answers 202, and a job's outcome before the worker counts it done (WAIT, within MAILPROOF_REDIS_TIMEOUT); 0 waits for none", set: func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 100 {
			return errors.New("must be a whole number of replicas from 0 to 100, such as 0 or 1")
		}
		c.RedisMinReplicas = n
		return nil
	}},
	{Name: "MAILPROOF_WORKERS", Default: "4", Help: "jobs processed at once by this replica", set: func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 256 {
			return errors.New("must be a whole number between 1 and 256")
		}
		c.Workers = n
		return nil
	}},
	{Name: "MAILPROOF_VISIBILITY_TIMEOUT", Default: "60s", Help: "a job held this long by a silent worker is taken over by another", set: setDuration(func(c *Config) *time.Duration { return &c.VisibilityTimeout })},
	{Name: "MAILPROOF_MAX_ATTEMPTS", Default: "8", Help: "attempts before a job goes to the dead-letter stream", set: func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return errors.New("must be a whole number between 1 and 100")
		}
		c.MaxAttempts = n
		return nil
	}},
	{Name: "MAILPROOF_RETRY_BASE", Default: "1s", Help: "first retry delay (exponential backoff with full jitter)", set: setDuration(func(c *Config) *time.Duration { return &c.RetryBase })},
	{Name: "MAILPROOF_RETRY_MAX", Default: "5m", Help: "longest retry delay", set: setDuration(func(c *Config) *time.Duration { return &c.RetryMax })},
	{Name: "MAILPROOF_PENDING_TTL", Default: "720h", Help: "how long a pending record waits for its login before it expires", set: setDuration(func(c *Config) *time.Duration { return &c.PendingTTL })},
	// 1h: a person whose webhook was lost waits about an hour longer, and a search-path
	// run costs a few Management API calls where few records wait.
	{Name: "MAILPROOF_RECONCILE_INTERVAL", Default: "1h", Help: "how often the reconcile sweep looks in Auth0 for logins whose webhook never arrived; 0 turns it off", set: func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return errors.New("must be a duration such as 30m or 1h, or 0 to turn the sweep off")
		}
		c.ReconcileInterval = d
		return nil
	}},
	// The search path's calls grow with the provisioned users who logged in or changed
	// since the last run; an export job costs a handful of calls however many there are,
	// but reads the whole tenant and can take minutes to build. The default is the
	// sweep's own (proof.DefaultSweepConfig), so the two cannot drift.
	{Name: "MAILPROOF_RECONCILE_EXPORT_ABOVE", Default: strconv.Itoa(proof.DefaultSweepConfig().ExportAbove), Help: "with more pending records than this, the sweep reads a user export job instead of searching", set: func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return errors.New("must be a whole number of at least 1")
		}
		c.ReconcileExportAbove = n
		return nil
	}},
}

// Settings returns every variable mailproof reads, in the README's order; the slice is
// a copy.
func Settings() []Setting { return append([]Setting(nil), settings[:]...) }

func setAddr(field func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error {
		if _, port, err := net.SplitHostPort(v); err != nil || port == "" {
			return errors.New("must be host:port or :port")
		}
		*field(c) = v
		return nil
	}
}

func setDuration(field func(*Config) *time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return errors.New("must be a positive duration such as 500ms, 10s or 5m")
		}
		*field(c) = d
		return nil
	}
}

// LoadConfig reads every MAILPROOF_* variable through getenv and reports every missing or
// invalid one in a single error, so an operator fixes them all in one go.
func LoadConfig(getenv func(string) string) (Config, error) {
	return load(getenv, settings[:])
}

// LoadSettings is LoadConfig for a CLI command that needs only some variables: it reads
// the named ones, with the same defaults, parsers, cross-checks and error, and leaves
// every other field zero. A name the table does not hold is a bug in the caller.
func LoadSettings(getenv func(string) string, names ...string) (Config, error) {
	var some []Setting
	for _, name := range names {
		i := slices.IndexFunc(settings[:], func(s Setting) bool { return s.Name == name })
		if i < 0 {
			return Config{}, fmt.Errorf("LoadSettings: no setting %s", name)
		}
		some = append(some, settings[i])
	}
	return load(getenv, some)
}

func load(getenv func(string) string, some []Setting) (Config, error) {
	var c Config
	var errs []error
	for _, s := range some {
		v, err := lookup(getenv, s)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if v == "" {
			v = s.Default
		}
		if v == "" {
			if s.Required {
				errs = append(errs, fmt.Errorf("%s is required (%s)", s.Name, s.Help))
			}
			continue
		}
		if err := s.set(&c, v); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", s.Name, err))
		}
	}
	errs = append(errs, c.check()...)
	if len(errs) > 0 {
		return Config{}, &ConfigError{Errs: errs}
	}
	return c, nil
}

// lookup reads one setting's variable (see LookupEnv).
func lookup(getenv func(string) string, s Setting) (string, error) {
	return LookupEnv(getenv, s.Name, s.Secret)
}

// LookupEnv reads the variable name or, for a secret, name_FILE, a path to a file that
// holds the value (Docker and Kubernetes secrets); both set at once is ambiguous and
// refused. It is the one reading of secrets: serve, local and every CLI command use it,
// so they agree on what a deployment's environment means.
func LookupEnv(getenv func(string) string, name string, secret bool) (string, error) {
	v := strings.TrimSpace(getenv(name))
	if !secret {
		return v, nil
	}
	file := strings.TrimSpace(getenv(name + "_FILE"))
	if file == "" {
		return v, nil
	}
	if v != "" {
		return "", fmt.Errorf("%s and %s_FILE are both set; keep one", name, name)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("%s_FILE: cannot read %s: %w", name, file, errors.Unwrap(err))
	}
	v = strings.TrimSpace(string(b))
	if v == "" {
		return "", fmt.Errorf("%s_FILE: %s is empty", name, file)
	}
	return v, nil
}

// check holds the rules that tie several variables together.
func (c *Config) check() []error {
	var errs []error
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		errs = append(errs, errors.New("MAILPROOF_TLS_CERT_FILE and MAILPROOF_TLS_KEY_FILE must be set together"))
	} else if c.TLSCertFile != "" {
		if _, err := tls.LoadX509KeyPair(c.TLSCertFile, c.TLSKeyFile); err != nil {
			errs = append(errs, fmt.Errorf("MAILPROOF_TLS_CERT_FILE/MAILPROOF_TLS_KEY_FILE: %w", err))
		}
	}
	// A job's lease must outlive the Management API calls made under it (a read and a
	// PATCH) or a second worker takes it over mid-flight.
	if c.VisibilityTimeout > 0 && c.Auth0Timeout > 0 && c.VisibilityTimeout < 2*c.Auth0Timeout+5*time.Second {
		errs = append(errs, fmt.Errorf("MAILPROOF_VISIBILITY_TIMEOUT (%s) must be at least twice MAILPROOF_AUTH0_TIMEOUT plus 5s (%s)", c.VisibilityTimeout, 2*c.Auth0Timeout+5*time.Second))
	}
	if c.RetryBase > c.RetryMax && c.RetryMax > 0 {
		errs = append(errs, errors.New("MAILPROOF_RETRY_BASE must not exceed MAILPROOF_RETRY_MAX"))
	}
	if c.Listen != "" && c.Listen == c.OpsListen {
		errs = append(errs, errors.New("MAILPROOF_LISTEN and MAILPROOF_OPS_LISTEN must differ"))
	}
	return errs
}

// ConfigError lists every bad variable; it prints one per line.
type ConfigError struct{ Errs []error }

func (e *ConfigError) Error() string {
	var b strings.Builder
	b.WriteString("invalid configuration:")
	for _, err := range e.Errs {
		b.WriteString("\n  - ")
		b.WriteString(err.Error())
	}
	return b.String()
}

// Unwrap exposes the individual problems to errors.Is and errors.As.
func (e *ConfigError) Unwrap() []error { return e.Errs }

// Auth0Client is the Management API client's configuration: the one place the
// MAILPROOF_AUTH0_* settings become an auth0client.Config, for serve and the CLI alike.
func (c Config) Auth0Client() auth0client.Config {
	return auth0client.Config{
		Domain:       c.Auth0Domain,
		ClientID:     c.Auth0ClientID,
		ClientSecret: c.Auth0ClientSecret,
		CAFile:       c.Auth0CAFile,
		Timeout:      c.Auth0Timeout,
	}
}
