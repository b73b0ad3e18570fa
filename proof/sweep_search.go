package proof

import (
	"context"
	"fmt"
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
// was in. It reports false when Limit stopped it.
func (r *sweepRun) search(ctx context.Context) (bool, error) {
	for r.st.Pos.Before(r.st.To) {
		end := r.st.To
		for {
			users, total, err := r.page(ctx, r.st.Pos, end, 0)
			if err != nil {
				return false, err
			}
			span := end.Sub(r.st.Pos)
			if total > searchCap && span > time.Millisecond {
				// Aim the window at searchFill results, as if they were spread evenly.
				parts := (total + searchFill - 1) / searchFill
				end = r.st.Pos.Add(max(span/time.Duration(parts), time.Millisecond))
				continue
			}
			if total > searchCap {
				r.s.Log.Warn("more than 1,000 users changed within one millisecond; the sweep sees the first 1,000 of them",
					zap.Time("at", r.st.Pos), zap.Int("total", total))
			}
			if err := r.window(ctx, r.st.Pos, end, users, min(total, searchCap)); err != nil {
				return false, err
			}
			break
		}
		if r.limited() {
			return false, nil
		}
		r.st.Pos = end
		if err := r.save(ctx); err != nil {
			return false, err
		}
		r.progress()
	}
	return true, nil
}

// window judges every page of one window; first is its page 0, already read.
func (r *sweepRun) window(ctx context.Context, from, to time.Time, first []auth0client.User, total int) error {
	users := first
	for page := 0; ; {
		if err := r.consider(ctx, users); err != nil {
			return err
		}
		if r.limited() {
			return nil
		}
		page++
		if page*auth0client.MaxPerPage >= total || len(users) < auth0client.MaxPerPage {
			return nil
		}
		var err error
		if users, _, err = r.page(ctx, from, to, page); err != nil {
			return err
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
		users, total, err = r.s.Users.SearchUsers(ctx, sweepQuery(from, to.Add(-time.Millisecond)), page, auth0client.MaxPerPage)
		return err
	})
	return users, total, err
}
