package main

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"

	"github.com/mailproof/mailproof/server"
	"github.com/mailproof/mailproof/webhook"
)

// loadDeployPlan reads the flags and the few variables a deploy needs (not the whole
// serve configuration, which demands Redis) and reports every problem at once. A dry run
// can do without Auth0 credentials: it notes them in plan.missing and plans offline. It
// can do without the signing secret too: it notes why in plan.noSecret.
func loadDeployPlan(base, secretFile string, timeoutMS int, name string, dryRun bool, getenv func(string) string) (deployPlan, []string, error) {
	var errs []error
	p := deployPlan{name: strings.TrimSpace(name), timeoutMS: timeoutMS}
	if p.name == "" {
		errs = append(errs, errors.New("--name is empty"))
	}
	if timeoutMS != 0 && (timeoutMS < minActionTimeoutMS || timeoutMS > maxActionTimeoutMS) {
		errs = append(errs, fmt.Errorf("--timeout-ms %d is outside %d to %d", timeoutMS, minActionTimeoutMS, maxActionTimeoutMS))
	}
	u, err := receiverURL(base)
	if err != nil {
		errs = append(errs, err)
	}
	p.url = u
	var warnings []string
	if pu, err := url.Parse(u); err == nil && isLoopback(pu.Hostname()) {
		warnings = append(warnings, "--url is a loopback address: Auth0 cannot reach it (fine against the tenant emulator)")
	}

	for _, v := range []struct {
		name   string
		secret bool
		dst    *string
	}{
		{"MAILPROOF_AUTH0_DOMAIN", false, &p.auth0.Domain},
		{"MAILPROOF_AUTH0_CLIENT_ID", false, &p.auth0.ClientID},
		{"MAILPROOF_AUTH0_CLIENT_SECRET", true, &p.auth0.ClientSecret},
	} {
		val, err := server.LookupEnv(getenv, v.name, v.secret)
		switch {
		case err != nil:
			errs = append(errs, err)
		case val == "" && v.secret:
			p.missing = append(p.missing, v.name+" (or "+v.name+"_FILE) is not set")
		case val == "":
			p.missing = append(p.missing, v.name+" is not set")
		}
		*v.dst = val
	}
	p.auth0.CAFile = strings.TrimSpace(getenv("MAILPROOF_AUTH0_CA_FILE"))

	receiverKeys, err := server.LookupEnv(getenv, "MAILPROOF_WEBHOOK_SECRETS", true)
	if err != nil {
		errs = append(errs, err)
	}
	var keyWarnings []string
	p.secret, p.keyID, keyWarnings, err = actionSecret(secretFile, receiverKeys)
	warnings = append(warnings, keyWarnings...)
	switch {
	case errors.Is(err, errNoSigningSecret) && dryRun:
		p.noSecret = err.Error()
	case err != nil:
		errs = append(errs, err)
	}
	if !dryRun {
		for _, m := range p.missing {
			errs = append(errs, errors.New(m))
		}
	}
	return p, warnings, errors.Join(errs...)
}

// receiverURL turns --url into the Action's MAILPROOF_URL. Plain http is refused unless
// the host is loopback: the events carry user ids and emails, and their signatures only
// prove origin, not privacy.
func receiverURL(base string) (string, error) {
	base = strings.TrimSpace(base)
	if base == "" {
		return "", errors.New("--url is required: the public base URL of the mailproof receiver, e.g. https://mailproof.example.com")
	}
	u, err := url.Parse(base)
	if err != nil || u.Host == "" || u.Opaque != "" {
		// Not quoted: an unparsable URL might hold a password.
		return "", errors.New("--url: want an absolute URL such as https://mailproof.example.com")
	}
	switch {
	case u.User != nil:
		return "", errors.New("--url must not carry credentials: the receiver authenticates events by their signature")
	case u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(base, "?") || strings.HasSuffix(base, "#"):
		return "", fmt.Errorf("--url %q: want a base URL without a query or fragment", base)
	case u.Scheme == "http" && !isLoopback(u.Hostname()):
		return "", fmt.Errorf("--url %q: must use https:// (plain http:// is allowed only for a loopback host): Auth0 would send user ids and emails in the clear", base)
	case u.Scheme != "https" && u.Scheme != "http":
		return "", fmt.Errorf("--url %q: want https://", base)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	if !strings.HasSuffix(u.Path, postLoginPath) {
		u.Path += postLoginPath
	}
	return u.String(), nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// errNoSigningSecret: neither --secret-file nor the receivers' keys are set.
var errNoSigningSecret = errors.New("MAILPROOF_WEBHOOK_SECRETS (or MAILPROOF_WEBHOOK_SECRETS_FILE) is not set, and no --secret-file was given: the Action needs a signing secret")

// actionSecret picks the key the Action signs with and its public id: --secret-file,
// else the first whsec_ entry the receiver is configured with. A whpk_ public key cannot
// sign, so a receiver that only knows public keys needs the matching whsk_ private key in
// a file. Errors never quote a key.
func actionSecret(secretFile, receiverKeys string) (secret, keyID string, warnings []string, err error) {
	var configured []string
	for _, s := range strings.Split(receiverKeys, ",") {
		if s = strings.TrimSpace(s); s != "" {
			configured = append(configured, s)
		}
	}
	if secretFile == "" {
		if len(configured) == 0 {
			return "", "", nil, errNoSigningSecret
		}
		for i, s := range configured {
			if strings.HasPrefix(s, "whsec_") {
				k, err := webhook.ParseKey(s)
				if err != nil {
					return "", "", nil, fmt.Errorf("MAILPROOF_WEBHOOK_SECRETS entry %d: %w", i+1, err)
				}
				return s, k.ID(), nil, nil
			}
		}
		return "", "", nil, errors.New("MAILPROOF_WEBHOOK_SECRETS holds no whsec_ secret (whpk_ public keys cannot sign): pass --secret-file with the matching whsk_ private key")
	}

	b, err := os.ReadFile(secretFile)
	if err != nil {
		return "", "", nil, fmt.Errorf("--secret-file: %w", err)
	}
	s := strings.TrimSpace(string(b))
	k, err := webhook.ParseKey(s)
	switch {
	case err != nil:
		return "", "", nil, fmt.Errorf("--secret-file %s: %w", secretFile, err)
	case !strings.HasPrefix(s, "whsec_") && !strings.HasPrefix(s, "whsk_"):
		return "", "", nil, fmt.Errorf("--secret-file %s holds a whpk_ public key: the Action signs, give it the whsk_ private key", secretFile)
	}
	// Rotation goes receivers first: warn when this environment's receivers would not
	// accept the key (a whsk_ key has the id of its whpk_ half).
	if len(configured) > 0 {
		for _, c := range configured {
			if ck, err := webhook.ParseKey(c); err == nil && ck.ID() == k.ID() {
				return s, k.ID(), nil, nil
			}
		}
		warnings = append(warnings, fmt.Sprintf("key %s is not in MAILPROOF_WEBHOOK_SECRETS: add it on every receiver before deploying, or they will reject every event (logins go on, nothing gets verified)", k.ID()))
	}
	return s, k.ID(), warnings, nil
}
