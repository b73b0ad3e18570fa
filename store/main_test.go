package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mailproof/mailproof/store"
	"github.com/mailproof/mailproof/store/redistest"
)

func TestMain(m *testing.M) { redistest.Main(m) }

// openStore opens the store on an empty database of the shared redis-server.
func openStore(t testing.TB, opts ...store.Option) *store.Redis {
	t.Helper()
	return openURL(t, redistest.URL(t), opts...)
}

func openURL(t testing.TB, url string, opts ...store.Option) *store.Redis {
	t.Helper()
	r, err := store.Open(t.Context(), url, opts...)
	if err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

// oddIDs are user ids that would forge keys or slots if used raw.
var oddIDs = []struct{ name, id string }{
	{"auth0 id", "auth0|6560c1f2e4b0a1b2c3d4e5f6"},
	{"key syntax", "auth0|x}:{mp}:jobs"},
	{"hash tag only", "{mp}"},
	{"newline", "auth0|a\nb\r\n"},
	{"nul byte", "auth0|a\x00b"},
	{"unicode", "auth0|ünïcødé-✓"},
	{"colon", ":"},
	{"very long", "auth0|" + strings.Repeat("x", 20000)},
}

// putPending writes a pending record provisioned at the given time.
func putPending(t testing.TB, r *store.Redis, userID string, at time.Time) {
	t.Helper()
	err := r.PutPending(t.Context(), store.Record{
		UserID: userID, Email: "Ada@Example.com ", Connection: "Username-Password-Authentication",
		ProvisionedAt: at,
	})
	if err != nil {
		t.Fatalf("put pending %q: %v", short(userID), err)
	}
}

// short keeps test messages readable for the very long id.
func short(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// timeout gives a call its own deadline so a broken store fails the test
// instead of hanging it.
func timeout(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// zmember builds a sorted-set entry.
func zmember(score float64, member string) redis.Z { return redis.Z{Score: score, Member: member} }
