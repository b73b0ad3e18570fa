package auth0client

import (
	"context"
	"fmt"

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
	m := c.m.Load()
	ctx, ex := withExchange(ctx)
	conn, err := m.Connection.ReadByName(ctx, name)
	if err != nil {
		return "", fmt.Errorf("connection %q: %w", name, c.classify(m, err, ex, ErrPermanent))
	}
	return conn.GetID(), nil
}
