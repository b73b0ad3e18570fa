package auth0test

import (
	"net/http"
	"net/url"
	"testing"
	"time"
)

// TestEmailChangeMoments pins where a scheduled change lands relative to the
// call it is tied to: what the call's answer shows and what the user holds
// afterwards.
func TestEmailChangeMoments(t *testing.T) {
	tests := []struct {
		name         string
		change       EmailChange
		method       string
		body         any
		wantAnswer   string // email in the answer to the call
		wantVerified bool   // email_verified in the answer
		wantFinal    string
		wantFinalVer bool
	}{
		{
			name:   "before a read: the read sees the new address",
			change: EmailChange{Email: "mallory@evil.example", Method: http.MethodGet, Moment: BeforeCall},
			method: http.MethodGet, wantAnswer: "mallory@evil.example", wantFinal: "mallory@evil.example",
		},
		{
			name:   "after a read: the answer shows the old address, the user holds the new one",
			change: EmailChange{Email: "mallory@evil.example", Method: http.MethodGet, Moment: AfterCall},
			method: http.MethodGet, wantAnswer: "kate@example.com", wantFinal: "mallory@evil.example",
		},
		{
			name:   "before a flip: the flip lands on the new address and its answer shows it",
			change: EmailChange{Email: "Mallory@Evil.example", Method: http.MethodPatch, Moment: BeforeCall},
			method: http.MethodPatch, body: map[string]any{"email_verified": true},
			wantAnswer: "mallory@evil.example", wantVerified: true, wantFinal: "mallory@evil.example", wantFinalVer: true,
		},
		{
			name:   "after a flip: the answer shows the flip, the new address is unverified",
			change: EmailChange{Email: "mallory@evil.example", Method: http.MethodPatch, Moment: AfterCall},
			method: http.MethodPatch, body: map[string]any{"email_verified": true},
			wantAnswer: "kate@example.com", wantVerified: true, wantFinal: "mallory@evil.example",
		},
		{
			name:   "an application that verified the new address itself",
			change: EmailChange{Email: "kate@new.example", Verified: true, Method: http.MethodGet, Moment: BeforeCall},
			method: http.MethodGet, wantAnswer: "kate@new.example", wantVerified: true, wantFinal: "kate@new.example", wantFinalVer: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tn := NewT(t, Config{})
			c := httpClient(tn, 5*time.Second)
			tok := token(t, tn, c)
			u := tn.AddUser(UserSeed{Email: "kate@example.com"})
			tc.change.UserID = u.ID
			tn.ScheduleEmailChange(tc.change)
			got := call(t, c, tc.method, tn.URL()+"/api/v2/users/"+url.PathEscape(u.ID), tok, tc.body).json(t)
			if got["email"] != tc.wantAnswer || got["email_verified"] != tc.wantVerified {
				t.Errorf("answer: email %v verified %v, want %s %v", got["email"], got["email_verified"], tc.wantAnswer, tc.wantVerified)
			}
			final, _ := tn.User(u.ID)
			if final.Email != tc.wantFinal || final.EmailVerified != tc.wantFinalVer {
				t.Errorf("user afterwards: %s verified %v, want %s %v", final.Email, final.EmailVerified, tc.wantFinal, tc.wantFinalVer)
			}
		})
	}
}

// TestEmailChangeNth counts only the named user's calls of the named method,
// and fires once.
func TestEmailChangeNth(t *testing.T) {
	tn := NewT(t, Config{})
	c := httpClient(tn, 5*time.Second)
	tok := token(t, tn, c)
	u := tn.AddUser(UserSeed{Email: "kate@example.com"})
	other := tn.AddUser(UserSeed{Email: "olga@example.com"})
	tn.ScheduleEmailChange(EmailChange{UserID: u.ID, Email: "m1@evil.example", Method: http.MethodGet, Nth: 2})

	read := func(id string) string {
		return call(t, c, http.MethodGet, tn.URL()+"/api/v2/users/"+url.PathEscape(id), tok, nil).json(t)["email"].(string)
	}
	call(t, c, http.MethodPatch, tn.URL()+"/api/v2/users/"+url.PathEscape(u.ID), tok, map[string]any{"name": "K"})
	read(other.ID)
	if got := read(u.ID); got != "kate@example.com" {
		t.Fatalf("first GET of the user: %s, want the old address (a PATCH and another user's GET do not count)", got)
	}
	if got := read(u.ID); got != "m1@evil.example" {
		t.Fatalf("second GET of the user: %s, want the change to have landed", got)
	}
	tn.ChangeEmail(u.ID, "kate@example.com", false)
	if got := read(u.ID); got != "kate@example.com" {
		t.Fatalf("third GET: %s, want kate@example.com (the change fires once)", got)
	}
}
