package store

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Deployment kinds a Redis URL selects (see deployment).
const (
	kindSingle   = "single"
	kindSentinel = "sentinel"
	kindCluster  = "cluster"
)

// deployment is what a Redis URL describes: one of a single node, a
// Sentinel-monitored master or a Cluster, with go-redis's options for it.
//
// The rule, in this order (documented in doc.go, "Connecting"):
//
//   - unix://: a single node on a Unix socket.
//   - redis-sentinel:// or rediss-sentinel://: Sentinel; master_name is
//     required. The rest is read as redis:// (rediss://) by
//     redis.ParseFailoverURL.
//   - redis:// or rediss:// with master_name: Sentinel (redis.ParseFailoverURL).
//   - redis:// or rediss:// with addr: Cluster (redis.ParseClusterURL), the
//     host and every addr being seed nodes.
//   - redis:// or rediss:// otherwise: a single node (redis.ParseURL).
type deployment struct {
	kind     string
	single   *redis.Options
	failover *redis.FailoverOptions
	cluster  *redis.ClusterOptions
}

// schemes lists the URL schemes Open accepts, for the error that names a wrong one.
const schemes = "redis, rediss, unix, redis-sentinel, rediss-sentinel"

// parseRedisURL reads a Redis URL into a deployment with mailproof's
// timeouts and retries. Errors show the URL without its passwords:
// url.Parse's own errors quote it whole, so they are replaced, not wrapped.
func parseRedisURL(rawURL string) (deployment, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return deployment{}, errors.New("redis: invalid URL (not shown: it may contain a password)")
	}
	shown := redact(u)
	fail := func(format string, a ...any) (deployment, error) {
		return deployment{}, fmt.Errorf("redis URL %s: "+format, append([]any{shown}, a...)...)
	}
	q := u.Query()
	var d deployment
	switch u.Scheme {
	case "unix":
		o, err := redis.ParseURL(rawURL)
		if err != nil {
			return fail("%w", err)
		}
		d = deployment{kind: kindSingle, single: o}
	case "redis-sentinel", "rediss-sentinel":
		if q.Get("master_name") == "" {
			return fail("%s:// needs master_name=NAME, the master the sentinels monitor", u.Scheme)
		}
		v := *u
		v.Scheme = strings.TrimSuffix(u.Scheme, "-sentinel")
		return parseFailover(&v, fail)
	case "redis", "rediss":
		switch {
		case q.Has("master_name"):
			if q.Get("master_name") == "" {
				return fail("master_name is empty: name the master the sentinels monitor")
			}
			return parseFailover(u, fail)
		case q.Has("addr"):
			return parseCluster(u, fail)
		}
		o, err := redis.ParseURL(rawURL)
		if err != nil {
			return fail("%w", err)
		}
		d = deployment{kind: kindSingle, single: o}
	case "":
		return fail("no scheme: start it with one of %s", schemes)
	default:
		return fail("scheme %q is not one of %s", u.Scheme, schemes)
	}
	o := d.single
	withTimeouts(&o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout, &o.DialerRetries, &o.MaxRetries, &o.ContextTimeoutEnabled)
	if o.Network == "unix" {
		o.Dialer = func(ctx context.Context, _, addr string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", addr)
		}
	}
	return d, nil
}

func parseFailover(u *url.URL, fail func(string, ...any) (deployment, error)) (deployment, error) {
	if err := checkAddrs(u.Query()["addr"], "sentinel"); err != nil {
		return fail("%w", err)
	}
	o, err := redis.ParseFailoverURL(u.String())
	if err != nil {
		return fail("sentinel: %w", err)
	}
	withTimeouts(&o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout, &o.DialerRetries, &o.MaxRetries, &o.ContextTimeoutEnabled)
	return deployment{kind: kindSentinel, failover: o}, nil
}

func parseCluster(u *url.URL, fail func(string, ...any) (deployment, error)) (deployment, error) {
	if err := checkAddrs(u.Query()["addr"], "cluster seed"); err != nil {
		return fail("%w", err)
	}
	// ParseClusterURL ignores the path; a Cluster has database 0 only, so a
	// URL asking for another would silently write elsewhere than meant.
	if p := strings.Trim(u.Path, "/"); p != "" && p != "0" {
		return fail("path /%s: a Cluster has only database 0", p)
	}
	v := *u
	v.Path = ""
	o, err := redis.ParseClusterURL(v.String())
	if err != nil {
		return fail("cluster: %w", err)
	}
	withTimeouts(&o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout, &o.DialerRetries, &o.MaxRetries, &o.ContextTimeoutEnabled)
	return deployment{kind: kindCluster, cluster: o}, nil
}

// checkAddrs refuses an addr parameter that is not host:port, naming it (an
// address holds no secret).
func checkAddrs(addrs []string, what string) error {
	for _, a := range addrs {
		h, p, err := net.SplitHostPort(a)
		if err != nil || h == "" {
			return fmt.Errorf("%s addr=%q is not host:port", what, a)
		}
		if n, err := strconv.Atoi(p); err != nil || n <= 0 || n > 65535 {
			return fmt.Errorf("%s addr=%q: port %q is not a number from 1 to 65535", what, a, p)
		}
	}
	return nil
}

// retries is go-redis's MaxRetries for mailproof: one retry rides over
// connections broken by a Redis restart or a failover; more would only
// multiply the wait when Redis is really down. An explicit max_retries in
// the URL wins.
func retries(n int) int {
	if n == 0 {
		return 1
	}
	return n
}

// growPool gives each node's pool n connections beyond go-redis's default (see
// WithBlockingReaders); a pool_size in the URL is the operator's choice and stays.
func (d deployment) growPool(n int) {
	if n <= 0 {
		return
	}
	size := func(p *int) {
		if *p == 0 {
			*p = 10*runtime.GOMAXPROCS(0) + n
		}
	}
	switch d.kind {
	case kindSentinel:
		size(&d.failover.PoolSize)
	case kindCluster:
		size(&d.cluster.PoolSize)
	default:
		size(&d.single.PoolSize)
	}
}

// client builds the go-redis client for the deployment.
func (d deployment) client() redis.UniversalClient {
	switch d.kind {
	case kindSentinel:
		return redis.NewFailoverClient(d.failover)
	case kindCluster:
		c := redis.NewClusterClient(d.cluster)
		c.AddHook(reloadOnFailure{c: c})
		return c
	}
	return redis.NewClient(d.single)
}

// readTimeout is the client's read timeout.
func (d deployment) readTimeout() time.Duration {
	switch d.kind {
	case kindSentinel:
		return d.failover.ReadTimeout
	case kindCluster:
		return d.cluster.ReadTimeout
	}
	return d.single.ReadTimeout
}

// String names where the deployment is, for error messages: addresses and
// the master name, never a password.
func (d deployment) String() string {
	switch d.kind {
	case kindSentinel:
		return fmt.Sprintf("master %q via sentinels %s", d.failover.MasterName, strings.Join(d.failover.SentinelAddrs, ","))
	case kindCluster:
		return "cluster " + strings.Join(d.cluster.Addrs, ",")
	}
	return d.single.Addr
}

// redact shows a URL with its passwords (userinfo, and the password and
// sentinel_password parameters) replaced by "xxxxx".
func redact(u *url.URL) string {
	v := *u
	q := v.Query()
	if q.Has("password") || q.Has("sentinel_password") {
		for _, k := range []string{"password", "sentinel_password"} {
			if q.Has(k) {
				q.Set(k, "xxxxx")
			}
		}
		v.RawQuery = q.Encode()
	}
	return v.Redacted()
}

// CheckURL reports whether Open would understand rawURL, without connecting:
// configuration calls it to name a wrong part of MAILPROOF_REDIS_URL before
// anything starts. Errors never contain the URL's passwords.
func CheckURL(rawURL string) error {
	_, err := parseRedisURL(rawURL)
	return err
}

// withTimeouts gives every kind of client the same timeouts and retries: go-redis has a
// different options type for each, with the same fields.
func withTimeouts(dial, read, write *time.Duration, dialerRetries, maxRetries *int, ctxTimeout *bool) {
	*dial = orDefault(*dial, dialTimeout)
	*read = orDefault(*read, readTimeout)
	*write = orDefault(*write, writeTimeout)
	*dialerRetries = 1
	*maxRetries = retries(*maxRetries)
	*ctxTimeout = true
}
