package proof

import (
	"context"
	"fmt"
	"slices"
	"time"

	"go.uber.org/zap"

	"github.com/mailproof/mailproof/auth0client"
)

// searchCap is how many results of one query Auth0's search lets a client page through.
const searchCap = 1000

// searchFill is how many results the sweep aims a window at when it splits one: under
// the cap, so the logins that reach the index while it pages do not push it over.
const searchFill = 900

// sweepQuery finds the users mailproof provisioned (or registered) who logged in or
// changed within [from, to]: a login whose webhook was lost shows in last_login, and a
// change (verified elsewhere, a new address) in updated_at. It leaves out neither the
// verified nor the unverified: the first close their records, the second may flip.
// Millisecond timestamps, both ends inclusive.
func sweepQuery(from, to time.Time) string {
	r := fmt.Sprintf("[%s TO %s]", from.UTC().Format(timeMillis), to.UTC().Format(timeMillis))
	return "_exists_:app_metadata." + auth0client.ProvisionMarker + " AND (last_login:" + r + " OR updated_at:" + r + ")"
}

const timeMillis = "2006-01-02T15:04:05.000Z"

// search walks the run's range in windows that each hold at most searchCap results,
// oldest first, saving the cursor after each: a run that dies resumes at the window it
// was in. A window's span adapts to what the last one held, aiming at searchFill
// results, so a range where logins cluster (a bulk provisioning, a Monday morning) costs
// a few extra probes rather than a page per empty slice. It reports false when Limit
// stopped it.
func (r *sweepRun) search(ctx context.Context) (bool, error) {
	span := r.st.To.Sub(r.st.Pos)
	for r.st.Pos.Before(r.st.To) {
		end := r.st.To
		if r.st.To.Sub(r.st.Pos) > span {
			end = r.st.Pos.Add(span)
		}
		users, total, err := r.page(ctx, r.st.Pos, end, 0)
		if err != nil {
			return false, err
		}
		w := end.Sub(r.st.Pos)
		if total > searchCap && w > time.Millisecond {
			span = r.narrow(users, end, total)
			continue
		}
		if total > searchCap {
			r.s.Log.Warn("more than 1,000 users changed within one millisecond; the sweep sees the first 1,000 of them",
				zap.Time("at", r.st.Pos), zap.Int("total", total))
		}
		if err := r.window(ctx, r.st.Pos, end, users, min(total, searchCap)); err != nil {
			return false, err
		}
		if r.limited() {
			return false, nil
		}
		r.st.Pos = end
		if err := r.save(ctx); err != nil {
			return false, err
		}
		r.progress()
		// Grow the next window towards searchFill results: if that overshoots, narrow
		// finds the right span from the page it reads.
		grow := float64(searchFill) / float64(max(total, 1))
		span = max(time.Duration(float64(w)*max(grow, 1)), time.Millisecond)
	}
	return true, nil
}

// narrow picks the span of the next try at a window from pos to end that held total
// (more than searchCap) results. The page in hand is a sample of the window's users:
// the time each entered it (its earliest last_login or updated_at inside) says where
// the results lie, so the next try aims at searchFill of them, however they cluster (a
// bulk provisioning, a Monday morning). Without a sample it assumes an even spread. A
// guess too short costs a smaller window; too long, another try.
func (r *sweepRun) narrow(users []auth0client.User, end time.Time, total int) time.Duration {
	pos, w := r.st.Pos, end.Sub(r.st.Pos)
	span := time.Duration(float64(w) * searchFill / float64(total))
	var keys []time.Time
	for _, u := range users {
		var entered time.Time
		for _, t := range []time.Time{u.UpdatedAt, u.LastLogin} {
			if !t.Before(pos) && t.Before(end) && (entered.IsZero() || t.Before(entered)) {
				entered = t
			}
		}
		if !entered.IsZero() {
			keys = append(keys, entered)
		}
	}
	if len(keys) > 0 {
		slices.SortFunc(keys, time.Time.Compare)
		span = keys[len(keys)*searchFill/total].Sub(pos) + time.Millisecond
	}
	return min(max(span, time.Millisecond), w*9/10)
}

// window judges every page of one window; first is its page 0, already read, of a
// window that held total results then. Pages are read by offset in created_at order,
// which no change moves a user in; a user leaving the window while it is paged (a new
// login moves both of its times past the window's end) would still move every later
// one up a place, and the one moved onto a page already read would never be judged.
// So a page that shows another total reads the window again from the start: what was
// judged already is queued once (its job id is the same), nothing is skipped.
func (r *sweepRun) window(ctx context.Context, from, to time.Time, first []auth0client.User, total int) error {
	users := first
	for page, rereads := 0, 0; ; {
		if err := r.consider(ctx, users); err != nil {
			return err
		}
		if r.limited() {
			return nil
		}
		page++
		if page*auth0client.MaxPerPage >= total || (page > 0 && len(users) < auth0client.MaxPerPage) {
			return nil
		}
		var now int
		var err error
		if users, now, err = r.page(ctx, from, to, page); err != nil {
			return err
		}
		if now != total && rereads < 3 {
			rereads++
			r.s.Log.Info("the window changed while it was paged; reading it again from the start",
				zap.Time("from", from), zap.Int("total_before", total), zap.Int("total_now", now))
			page, total = -1, min(now, searchCap)
			users = nil
		}
	}
}

// page reads one page of the window [from, to) (to is exclusive: the next window starts
// there).
func (r *sweepRun) page(ctx context.Context, from, to time.Time, page int) ([]auth0client.User, int, error) {
	var users []auth0client.User
	var total int
	err := r.call(ctx, PathSearch, func() error {
		var err error
		users, total, err = r.s.Users.SearchUsers(ctx, sweepQuery(from, to.Add(-time.Millisecond)), "created_at:1", page, auth0client.MaxPerPage)
		return err
	})
	return users, total, err
}
