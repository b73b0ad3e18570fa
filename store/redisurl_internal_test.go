package store

import (
	"strings"
	"testing"
	"time"
)

func TestParseRedisURL(t *testing.T) {
	tests := []struct {
		name     string
		url      string
		wantKind string
		wantAt   string // deployment.String()
		check    func(t *testing.T, d deployment)
	}{
		{name: "single", url: "redis://:pw@10.0.0.1:6380/3", wantKind: kindSingle, wantAt: "10.0.0.1:6380",
			check: func(t *testing.T, d deployment) {
				if d.single.DB != 3 || d.single.Password != "pw" {
					t.Errorf("db %d, password %q; want 3, pw", d.single.DB, d.single.Password)
				}
			}},
		{name: "single TLS", url: "rediss://h:6379", wantKind: kindSingle, wantAt: "h:6379",
			check: func(t *testing.T, d deployment) {
				if d.single.TLSConfig == nil {
					t.Errorf("no TLS config")
				}
			}},
		{name: "unix socket", url: "unix://:pw@/run/redis.sock?db=2", wantKind: kindSingle, wantAt: "/run/redis.sock",
			check: func(t *testing.T, d deployment) {
				if d.single.Dialer == nil || d.single.DB != 2 || d.single.Password != "pw" {
					t.Errorf("dialer set %t, db %d, password %q; want a unix dialer, db 2, pw", d.single.Dialer != nil, d.single.DB, d.single.Password)
				}
			}},
		{name: "sentinel, go-redis form", url: "redis://sentinel-user:spw@s1:26379/1?master_name=mymaster&addr=s2:26379&addr=s3:26379&password=mpw",
			wantKind: kindSentinel, wantAt: `master "mymaster" via sentinels s1:26379,s2:26379,s3:26379`,
			check: func(t *testing.T, d deployment) {
				o := d.failover
				if o.SentinelUsername != "sentinel-user" || o.SentinelPassword != "spw" || o.Password != "mpw" || o.DB != 1 {
					t.Errorf("sentinel auth %q/%q, master password %q, db %d; want sentinel-user/spw, mpw, 1",
						o.SentinelUsername, o.SentinelPassword, o.Password, o.DB)
				}
				if o.TLSConfig != nil {
					t.Errorf("TLS config set for redis://")
				}
			}},
		{name: "sentinel scheme", url: "redis-sentinel://s1:26379?master_name=mp&addr=s2:26379", wantKind: kindSentinel,
			wantAt: `master "mp" via sentinels s1:26379,s2:26379`},
		{name: "sentinel TLS", url: "rediss-sentinel://s1:26379?master_name=mp", wantKind: kindSentinel,
			wantAt: `master "mp" via sentinels s1:26379`,
			check: func(t *testing.T, d deployment) {
				if d.failover.TLSConfig == nil || d.failover.TLSConfig.ServerName != "s1" {
					t.Errorf("TLS config %+v, want one for s1", d.failover.TLSConfig)
				}
			}},
		{name: "cluster", url: "redis://:pw@c1:7000?addr=c2:7001&addr=c3:7002", wantKind: kindCluster,
			wantAt: "cluster c1:7000,c2:7001,c3:7002",
			check: func(t *testing.T, d deployment) {
				if d.cluster.Password != "pw" {
					t.Errorf("password %q, want pw", d.cluster.Password)
				}
			}},
		{name: "cluster, database 0 path", url: "rediss://c1:7000/0?addr=c2:7001", wantKind: kindCluster,
			wantAt: "cluster c1:7000,c2:7001"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := parseRedisURL(tc.url)
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			if d.kind != tc.wantKind || d.String() != tc.wantAt {
				t.Errorf("%s: %s at %s, want %s at %s", tc.name, d.kind, d, tc.wantKind, tc.wantAt)
			}
			if tc.check != nil {
				tc.check(t, d)
			}
			c := d.client()
			defer c.Close()
		})
	}
}

func TestParseRedisURLDefaults(t *testing.T) {
	for _, raw := range []string{
		"redis://h:6379",
		"redis://s:26379?master_name=mp",
		"redis://c1:7000?addr=c2:7000",
	} {
		d, err := parseRedisURL(raw)
		if err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		var dial, read time.Duration
		var retries, dialerRetries int
		var ctxTimeout bool
		switch d.kind {
		case kindSingle:
			o := d.single
			dial, read, retries, dialerRetries, ctxTimeout = o.DialTimeout, o.ReadTimeout, o.MaxRetries, o.DialerRetries, o.ContextTimeoutEnabled
		case kindSentinel:
			o := d.failover
			dial, read, retries, dialerRetries, ctxTimeout = o.DialTimeout, o.ReadTimeout, o.MaxRetries, o.DialerRetries, o.ContextTimeoutEnabled
		case kindCluster:
			o := d.cluster
			dial, read, retries, dialerRetries, ctxTimeout = o.DialTimeout, o.ReadTimeout, o.MaxRetries, o.DialerRetries, o.ContextTimeoutEnabled
		}
		if dial != dialTimeout || read != readTimeout || retries != 1 || dialerRetries != 1 || !ctxTimeout {
			t.Errorf("%s (%s): dial %s, read %s, retries %d, dialer retries %d, context timeouts %t; want %s, %s, 1, 1, true",
				raw, d.kind, dial, read, retries, dialerRetries, ctxTimeout, dialTimeout, readTimeout)
		}
	}
}

func TestParseRedisURLErrors(t *testing.T) {
	tests := []struct {
		name string
		url  string
		want []string // every one must be in the error
	}{
		{"bad scheme", "http://h:6379", []string{`scheme "http"`, "redis, rediss, unix"}},
		{"no scheme", "h:6379", []string{"scheme"}},
		{"sentinel scheme without master", "redis-sentinel://s1:26379?addr=s2:26379", []string{"master_name"}},
		{"empty master name", "redis://s1:26379?master_name=&addr=s2:26379", []string{"master_name is empty"}},
		{"bad sentinel addr", "redis://s1:26379?master_name=mp&addr=s2", []string{`sentinel addr="s2"`}},
		{"bad cluster addr", "redis://c1:7000?addr=c2:7001&addr=c3", []string{`cluster seed addr="c3"`}},
		{"bad cluster port", "redis://c1:7000?addr=c2:x", []string{`addr="c2:x"`, "port"}},
		{"cluster database", "redis://c1:7000/2?addr=c2:7001", []string{"path /2", "only database 0"}},
		{"cluster unknown option", "redis://c1:7000?addr=c2:7001&bogus=1", []string{"cluster", "bogus"}},
		{"sentinel unknown option", "redis://s1:26379?master_name=mp&bogus=1", []string{"sentinel", "bogus"}},
		{"single bad database", "redis://h:6379/x", []string{"database"}},
		{"unix with addr", "unix:///run/redis.sock?addr=h:1", []string{"addr"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseRedisURL(tc.url)
			if err == nil {
				t.Fatalf("%s: no error, want one containing %q", tc.name, tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%s: error %q, want it to contain %q", tc.name, err, w)
				}
			}
		})
	}
}

func TestParseRedisURLErrorsHidePasswords(t *testing.T) {
	const secret = "s3cr3t-pa55"
	for _, raw := range []string{
		"redis://u:" + secret + "@s1:26379?master_name=mp&password=" + secret + "&bogus=1",
		"redis://u:" + secret + "@s1:26379?master_name=mp&password=" + secret + "&addr=nope",
		"redis-sentinel://u:" + secret + "@s1:26379?password=" + secret,
		"redis://u:" + secret + "@c1:7000/4?addr=c2:7000",
		"http://u:" + secret + "@h",
	} {
		_, err := parseRedisURL(raw)
		if err == nil {
			t.Fatalf("%s: no error, want one", raw)
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error %q contains the password", err)
		}
	}
}
