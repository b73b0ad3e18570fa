package auth0test

import (
	"encoding/json"
	"time"
)

// The user search index. Auth0's search (GET /api/v2/users with q) reads
// an eventually consistent index: a write shows in it some time after it
// happened, and until then search answers the user as it was (or not at
// all, for a new user). The emulator keeps, per user, the versions written
// within the lag, each stamped with the tenant clock when it was written; a
// search at time now sees the newest version written at or before
// now-SearchLag. A deletion is a version too, so a deleted user stays
// findable for the lag. With SearchLag zero every write is visible at once.
// Reads by id and users-by-email never go through the index.

// indexed is one version of a user as the index holds it.
type indexed struct {
	at   time.Time
	user *User // nil: deleted
	// doc is the user's wire form decoded into maps, what queries match
	// against; computed once per version.
	doc map[string]any
}

// indexLocked records the current state of user id (gone if deleted) as
// written now; every write to t.users calls it. The caller holds t.mu.
func (t *Tenant) indexLocked(id string) {
	now := t.now()
	v := indexed{at: now}
	if rec, ok := t.users[id]; ok {
		u := rec.view()
		v.user, v.doc = &u, searchDoc(u)
	}
	t.index[id] = append(t.prunedLocked(id, now), v)
}

// prunedLocked drops the versions of id that no search can see any more:
// all but the newest of those older than the lag.
func (t *Tenant) prunedLocked(id string, now time.Time) []indexed {
	vs := t.index[id]
	cutoff := now.Add(-t.searchLag)
	keep := 0
	for i, v := range vs {
		if !v.at.After(cutoff) {
			keep = i
		}
	}
	return vs[keep:]
}

// searchableLocked returns the version of every user a search at now sees,
// leaving out users not yet indexed or deleted. The caller holds t.mu.
func (t *Tenant) searchableLocked(now time.Time) []indexed {
	cutoff := now.Add(-t.searchLag)
	var out []indexed
	for id := range t.index {
		vs := t.prunedLocked(id, now)
		t.index[id] = vs
		if len(vs) == 0 || vs[0].at.After(cutoff) {
			continue // first written within the lag: not indexed yet
		}
		if vs[0].user == nil {
			if len(vs) == 1 {
				delete(t.index, id) // deleted longer ago than the lag
			}
			continue
		}
		out = append(out, vs[0])
	}
	return out
}

// searchDoc is the user as the API answers it, decoded into plain maps and
// slices, so a field path resolves the same way for profile and metadata.
func searchDoc(u User) map[string]any {
	raw, err := json.Marshal(toWire(u))
	if err != nil {
		return nil // a User always marshals
	}
	var doc map[string]any
	_ = json.Unmarshal(raw, &doc)
	return doc
}
