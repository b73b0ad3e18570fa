package proof

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/mailproof/mailproof/auth0client"
	"github.com/mailproof/mailproof/auth0client/auth0test"
	"github.com/mailproof/mailproof/store"
)

// addMarked is provisionMarked at a given time: a user created then with the marker,
// and its pending record provisioned then.
func (h *harness) addMarked(name string, at time.Time) auth0test.User {
	h.t.Helper()
	email := h.noteEmail(name + "@example.com")
	at = at.Truncate(time.Millisecond)
	u := h.tenant.AddUser(auth0test.UserSeed{Email: email, Connection: auth0test.DefaultConnection, CreatedAt: at,
		AppMetadata: map[string]any{auth0client.ProvisionMarker: map[string]any{"provisioned_at": at.Format(time.RFC3339Nano)}}})
	if err := h.rdb.PutPending(h.t.Context(), store.Record{
		UserID: u.ID, Email: email, Connection: auth0test.DefaultConnection, ProvisionedAt: at,
	}); err != nil {
		h.t.Fatalf("put pending: %v", err)
	}
	return u
}

// queuedUsers lists the users of a run's jobs.
func queuedUsers(rep SweepReport) []string {
	var ids []string
	for _, q := range rep.Queued {
		ids = append(ids, q.UserID)
	}
	slices.Sort(ids)
	return ids
}

// More users changed in the range than one search may page through: the sweep splits
// the range into windows under the cap (one of them over a bulk provisioning, where the
// first page reaches far and the rest cluster at its end), reads every page of each,
// and saves the cursor after each window, so a run stopped in the second resumes there.
func TestSweepSearchWindowsUnderTheCap(t *testing.T) {
	h := newHarness(t, nil, auth0test.Config{})
	base := time.Now().Add(-62 * time.Minute).Truncate(time.Millisecond)
	lost := func(u auth0test.User, reset, login time.Duration) string {
		h.tenant.ResetPassword(u.ID, u.CreatedAt.Add(reset))
		h.tenant.Login(u.ID, u.CreatedAt.Add(login))
		return u.ID
	}
	var want []string    // the lost logins, in the order the search meets them
	for i := range 150 { // spread over an hour, one every 24 s
		u := h.addMarked(fmt.Sprintf("sparse%03d", i), base.Add(time.Duration(i)*24*time.Second))
		if i == 120 { // on the second page of the first window
			want = append(want, lost(u, 2*time.Second, 3*time.Second))
		}
	}
	for i := range 950 { // a bulk provisioning: one every 50 ms
		u := h.addMarked(fmt.Sprintf("bulk%03d", i), base.Add(time.Hour+time.Duration(i)*50*time.Millisecond))
		if i == 500 || i == 949 {
			want = append(want, lost(u, 10*time.Millisecond, 20*time.Millisecond))
		}
	}

	ctx, cancel := context.WithTimeout(t.Context(), waitCeiling)
	defer cancel()
	first, err := h.sweeper(func(c *SweepConfig) { c.Limit = 2 }).Sweep(ctx)
	if err != nil || first.Complete || !slices.Equal(queuedUsers(first), sorted(want[:2])) {
		t.Fatalf("limited sweep queued %v (%+v), %v; want %v and the run left open", queuedUsers(first), first.Results, err, want[:2])
	}
	// The cursor has passed at least one window, and not the login the limit left.
	st, _ := h.rdb.ReadSweep(t.Context())
	if left, _ := h.tenant.User(want[2]); !st.Pos.After(st.From) || st.Pos.After(left.LastPasswordReset) {
		t.Fatalf("cursor at %v in [%v, %v); want it past the first window, not past %v", st.Pos, st.From, st.To, left.LastPasswordReset)
	}

	rest, err := h.sweeper(nil).Sweep(ctx)
	if err != nil || !rest.Resumed || !rest.Complete {
		t.Fatalf("next sweep %+v, %v; want the run resumed and completed", rest, err)
	}
	if !slices.Equal(queuedUsers(rest), want[2:]) || rest.Found >= 1100 {
		t.Fatalf("resumed sweep found %d, queued %v, %v; want it to start at the cursor and queue %v",
			rest.Found, queuedUsers(rest), rest.Results, want[2:])
	}
}

func sorted(s []string) []string { return slices.Sorted(slices.Values(s)) }

// A user who reset their password before the previous run and logs in only now has an
// updated_at from before the range: the search finds them by last_login.
func TestSweepFindsALoginLongAfterTheReset(t *testing.T) {
	h := newHarness(t, nil, auth0test.Config{})
	u := h.provisionMarked("slow")
	h.tenant.ResetPassword(u.ID, time.Now().Add(-40*time.Minute))
	if rep := h.sweep(h.sweeper(nil)); rep.Results[OutcomeNoLoginSinceReset] != 1 || len(rep.Queued) != 0 {
		t.Fatalf("first sweep %+v; want the user waiting for a login", rep)
	}
	h.tenant.Login(u.ID, time.Now())
	if rep := h.sweep(h.sweeper(nil)); len(rep.Queued) != 1 || rep.Queued[0].UserID != u.ID {
		t.Fatalf("second sweep %+v; want the login queued", rep)
	}
}

// flippingUsers is the Management API as the sweep sees it while serve's worker runs
// beside it: before the search's second page of a window, the job the first page
// queued has been flipped (the worker's calls go before the sweep's, at a higher
// priority on the shared budget).
type flippingUsers struct {
	SweepUsers
	h       *harness
	flipped string
}

func (f *flippingUsers) SearchUsers(ctx context.Context, q, sort string, page, perPage int) ([]auth0client.User, int, error) {
	if page == 1 {
		f.h.waitStatus(f.flipped, store.StatusVerified)
	}
	return f.SweepUsers.SearchUsers(ctx, q, sort, page, perPage)
}

// The sweep's own flips move the users it found: a PATCH sets updated_at, the sort key
// of the window's pages, so a user flipped from page 0 goes to the end and every later
// user moves one place up. The one that moves from page 1 to page 0 must still be
// found, though the login it shows is older than the next run's overlap.
func TestSweepPagesHoldWhileItsOwnFlipsMoveUsers(t *testing.T) {
	h := newHarness(t, nil, auth0test.Config{})
	base := time.Now().Add(-50 * time.Minute).Truncate(time.Millisecond)
	first := h.addMarked("first", base.Add(-time.Minute)) // sorts first (updated_at: its reset)
	h.tenant.ResetPassword(first.ID, base)
	h.tenant.Login(first.ID, base.Add(30*time.Second))
	for i := range 120 {
		h.addMarked(fmt.Sprintf("quiet%03d", i), base.Add(time.Minute+time.Duration(i)*time.Second))
	}
	hundredth := h.addMarked("hundredth", base.Add(-2*time.Minute)) // sorts 101st: first of page 1
	h.tenant.ResetPassword(hundredth.ID, base.Add(time.Minute+98500*time.Millisecond))
	h.tenant.Login(hundredth.ID, base.Add(5*time.Minute))

	h.start(h.worker())
	s := h.sweeper(nil)
	s.Users = &flippingUsers{SweepUsers: s.Users, h: h, flipped: first.ID}
	rep := h.sweep(s)
	next := h.sweep(h.sweeper(nil)) // reaches back only the overlap: not to that login
	if got := append(queuedUsers(rep), queuedUsers(next)...); !slices.Contains(got, hundredth.ID) {
		t.Fatalf("the runs queued %v, the first found %d of 122 users; want %s, whose login was on page 1 when the run began",
			got, rep.Found, hundredth.ID)
	}
	h.waitStatus(hundredth.ID, store.StatusVerified)
}
