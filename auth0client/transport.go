package auth0client

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

// exchange is one call's view of the HTTP response the SDK hides: the
// status and headers (x-ratelimit-reset above all). Each call makes its own
// and carries it in the request context, so concurrent calls never share
// it; without retries one call is one round trip, so it needs no lock.
type exchange struct {
	// ping asks the recorder to answer locally once the SDK's token
	// transport has attached a token (see Client.Ping).
	ping bool
	// reached is set when the request got past the token transport: an
	// error without it came from fetching the token.
	reached bool
	status  int
	header  http.Header
	// scopes are the scope claim of the token a ping carried, when
	// scopesRead; the token itself is never kept.
	scopes     []string
	scopesRead bool
}

type exchangeKey struct{}

func withExchange(ctx context.Context) (context.Context, *exchange) {
	ex := &exchange{}
	return context.WithValue(ctx, exchangeKey{}, ex), ex
}

// recorder is the innermost transport, under the SDK's token, user-agent
// and client-info layers, and the transport token fetches use too.
type recorder struct {
	base      http.RoundTripper
	userAgent string
	// answered is the Client's (see Client.LastAnswer); nil in tests that build a
	// recorder alone.
	answered *atomic.Int64
}

// RoundTrip sets the user agent (token fetches bypass the SDK's own
// user-agent layer), answers pings (reading the scopes of the token they
// carry), and records the response for the call's exchange.
func (t *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	ex, _ := req.Context().Value(exchangeKey{}).(*exchange)
	if ex != nil {
		ex.reached = true
		if ex.ping {
			_, token, _ := strings.Cut(req.Header.Get("Authorization"), " ")
			ex.scopes, ex.scopesRead = jwtScopes(token)
			return &http.Response{
				Status:     "204 No Content",
				StatusCode: http.StatusNoContent,
				Proto:      "HTTP/1.1",
				ProtoMajor: 1,
				ProtoMinor: 1,
				Header:     http.Header{},
				Body:       http.NoBody,
				Request:    req,
			}, nil
		}
	}
	if req.Header.Get("User-Agent") != t.userAgent {
		req = req.Clone(req.Context()) // a RoundTripper must not change its request
		req.Header.Set("User-Agent", t.userAgent)
	}
	resp, err := t.base.RoundTrip(req)
	if t.answered != nil && resp != nil && strings.HasPrefix(req.URL.Path, "/api/v2/") && resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests {
		t.answered.Store(time.Now().UnixNano())
	}
	if ex != nil && resp != nil {
		ex.status = resp.StatusCode
		ex.header = resp.Header.Clone()
	}
	return resp, err
}
