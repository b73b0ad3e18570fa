package auth0client

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/auth0/go-auth0/management"
)

// MaxPerPage is the largest page SearchUsers may ask for.
const MaxPerPage = 100

// SearchUsers runs one page of a user search: q in Auth0's Lucene syntax
// (search engine v3), sorted by sort ("field:1" ascending, "field:-1"
// descending; "" for Auth0's default), page 0-based, perPage at most
// MaxPerPage. It returns the page's users and the total number of matches.
//
// Auth0's index is eventually consistent: a write can take seconds to be
// found, and a changed user can be answered as it was; read a user by id
// before acting on what a search said. Only the first 1,000 matches of a
// query can be paged through: a page past them is an ErrPermanent error,
// so split a large query by time windows. last_password_reset is not
// searchable.
func (c *Client) SearchUsers(ctx context.Context, q, sort string, page, perPage int) ([]User, int, error) {
	m := c.m.Load()
	ctx, ex := withExchange(ctx)
	// Query also sets search_engine=v3.
	opts := []management.RequestOption{
		management.Query(q),
		management.Page(page),
		management.PerPage(perPage),
		management.IncludeTotals(true),
	}
	if sort != "" {
		opts = append(opts, management.Parameter("sort", sort))
	}
	list, err := m.User.Search(ctx, opts...)
	if err != nil {
		return nil, 0, fmt.Errorf("search users (page %d): %w", page, c.classify(m, err, ex, ErrPermanent))
	}
	users := make([]User, 0, len(list.Users))
	for _, u := range list.Users {
		users = append(users, toUser(u))
	}
	return users, list.Total, nil
}

// ConnectionID returns the id (con_…) of the connection named name, what an
// export job takes; users only carry connection names. A connection that
// does not exist is an ErrPermanent error.
func (c *Client) ConnectionID(ctx context.Context, name string) (string, error) {
	conn, err := c.Connection(ctx, name)
	return conn.ID, err
}

// Connection is what mailproof needs to know of a connection.
type Connection struct {
	ID, Name string
	// Strategy is "auth0" for a database connection (users with a password Auth0
	// stores), else the identity provider's (google-oauth2, email, samlp, …).
	Strategy string
}

// Connection reads the connection named name (scope read:connections). A connection
// that does not exist is an ErrPermanent error.
func (c *Client) Connection(ctx context.Context, name string) (Connection, error) {
	m := c.m.Load()
	ctx, ex := withExchange(ctx)
	conn, err := m.Connection.ReadByName(ctx, name)
	if err != nil {
		return Connection{}, fmt.Errorf("connection %q: %w", name, c.classify(m, err, ex, ErrPermanent))
	}
	return Connection{ID: conn.GetID(), Name: conn.GetName(), Strategy: conn.GetStrategy()}, nil
}

// RateLimit is the tenant's Management API rate limit as its headers tell it.
type RateLimit struct {
	// Limit is the bucket's size (x-ratelimit-limit), Remaining what is left of it, and
	// Reset when it is full again (an upper bound: Auth0's pages disagree on it).
	Limit, Remaining int
	Reset            time.Time
}

// ProbeRateLimit spends one Management API call (a read of a user that does not
// exist, scope read:users) to read the rate-limit headers Auth0 sends on every answer.
func (c *Client) ProbeRateLimit(ctx context.Context) (RateLimit, error) {
	m := c.m.Load()
	ctx, ex := withExchange(ctx)
	_, err := m.User.Read(ctx, "auth0|mailproof-rate-limit-probe")
	if err != nil {
		if cerr := c.classify(m, err, ex, ErrUserNotFound); !errors.Is(cerr, ErrUserNotFound) {
			return RateLimit{}, fmt.Errorf("probe the rate limit: %w", cerr)
		}
	}
	limit, err1 := strconv.Atoi(ex.header.Get("X-Ratelimit-Limit"))
	remaining, err2 := strconv.Atoi(ex.header.Get("X-Ratelimit-Remaining"))
	reset, err3 := strconv.ParseInt(ex.header.Get("X-Ratelimit-Reset"), 10, 64)
	if err := errors.Join(err1, err2, err3); err != nil {
		return RateLimit{}, fmt.Errorf("probe the rate limit: %w: the answer has no x-ratelimit-* headers", ErrPermanent)
	}
	return RateLimit{Limit: limit, Remaining: remaining, Reset: time.Unix(reset, 0)}, nil
}
