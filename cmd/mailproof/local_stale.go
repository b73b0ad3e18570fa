package main

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"strings"
	"time"
)

// emulatorEnv are the variables local exports for the Auth0 emulator it starts, which
// stops with it: its address and client, and its CA, in a temporary directory removed
// on exit.
var emulatorEnv = []string{"MAILPROOF_AUTH0_DOMAIN", "MAILPROOF_AUTH0_CLIENT_ID", "MAILPROOF_AUTH0_CLIENT_SECRET", "MAILPROOF_AUTH0_CA_FILE"}

// staleLocalEnv finds, in a shell that pasted the export lines of an earlier `mailproof
// local`, the variables that point at what that run started and took down with it: the
// Auth0 emulator and the embedded Redis. local ignores them and starts its own instead
// of failing on a CA file that is gone. The rest of those exports (the webhook secret,
// the admin token, the addresses) still work, and win as any set variable does.
//
// The emulator's variables are stale when MAILPROOF_AUTH0_DOMAIN is a loopback address
// and the MAILPROOF_AUTH0_CA_FILE beside it no longer exists; a real tenant with a
// missing CA file is a mistake LoadConfig reports. MAILPROOF_REDIS_URL is stale when
// the shell holds local's exports (that stale emulator, or MAILPROOF_URL naming
// MAILPROOF_LISTEN, as local prints them) and it is a loopback redis:// URL without a
// password, like the embedded Redis's, at which nothing accepts a connection. A Redis
// of one's own that answers is kept, and one that is down without local's exports
// around it fails as before.
//
// It returns the names to ignore and, for each reason, a phrase saying why.
func staleLocalEnv(getenv func(string) string) (ignore, why []string) {
	emulator := false
	if ca := getenv("MAILPROOF_AUTH0_CA_FILE"); ca != "" && isLoopbackAddr(getenv("MAILPROOF_AUTH0_DOMAIN")) {
		if _, err := os.Stat(ca); errors.Is(err, fs.ErrNotExist) {
			emulator = true
			ignore = append(ignore, emulatorEnv...)
			why = append(why, fmt.Sprintf("the emulator's CA file %s is gone", ca))
		}
	}
	listen := getenv("MAILPROOF_LISTEN")
	u := getenv("MAILPROOF_URL")
	exported := emulator || (listen != "" && (u == "http://"+listen || u == "https://"+listen))
	if addr, ok := embeddedRedisAddr(getenv("MAILPROOF_REDIS_URL")); exported && ok && !answers(addr) {
		ignore = append(ignore, "MAILPROOF_REDIS_URL")
		why = append(why, "nothing answers at the embedded Redis address "+addr)
	}
	return ignore, why
}

// withoutEnv is getenv with names unset.
func withoutEnv(getenv func(string) string, names []string) func(string) string {
	return func(k string) string {
		for _, n := range names {
			if k == n {
				return ""
			}
		}
		return getenv(k)
	}
}

// staleNotice tells the operator which exports local ignores, and why.
func staleNotice(ignore, why []string) string {
	return fmt.Sprintf("mailproof local: this shell still holds the exports of an earlier local run (%s): ignoring %s and starting new ones. "+
		"Paste the export lines printed below into the other shells, or unset these variables.",
		strings.Join(why, "; "), strings.Join(ignore, ", "))
}

// embeddedRedisAddr returns the host:port of a URL shaped like the embedded Redis's:
// redis:// on a loopback address, with no user or password.
func embeddedRedisAddr(redisURL string) (string, bool) {
	u, err := url.Parse(redisURL)
	if err != nil || u.Scheme != "redis" || u.User != nil || u.Port() == "" || !isLoopbackAddr(u.Host) {
		return "", false
	}
	return u.Host, true
}

// isLoopbackAddr says whether host:port (or a bare host) is a loopback IP address:
// where local's emulator and embedded Redis listen.
func isLoopbackAddr(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// answers says whether something accepts a TCP connection at addr, a loopback address:
// a refusal comes at once.
func answers(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}
