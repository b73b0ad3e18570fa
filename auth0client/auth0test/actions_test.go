package auth0test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/auth0/go-auth0"
	"github.com/auth0/go-auth0/management"
	"golang.org/x/oauth2"
)

// newManagement is the real go-auth0 client on the tenant, authenticated by
// the client-credentials flow over TLS.
func newManagement(t *testing.T, tn *Tenant) *management.Management {
	t.Helper()
	hc := httpClient(tn, 5*time.Second)
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, hc)
	m, err := management.New(tn.Domain(),
		management.WithClientCredentials(ctx, tn.ClientID(), tn.ClientSecret()),
		management.WithClient(hc),
		management.WithNoRetries(),
	)
	if err != nil {
		t.Fatalf("management.New: %v", err)
	}
	return m
}

func statusOf(err error) int {
	var me management.Error
	if errors.As(err, &me) {
		return me.Status()
	}
	return 0
}

func TestActionsWithGoAuth0(t *testing.T) {
	clock := newFakeClock()
	tn := NewT(t, Config{Now: clock.Now, BuildDelay: time.Second})
	m := newManagement(t, tn)
	ctx := context.Background()
	const name = "mailproof post-login"

	a := &management.Action{
		Name:              auth0.String(name),
		SupportedTriggers: []management.ActionTrigger{{ID: auth0.String(management.ActionTriggerPostLogin), Version: auth0.String("v3")}},
		Code:              auth0.String("exports.onExecutePostLogin = async (event, api) => {};"),
		Runtime:           auth0.String("node22"),
		Secrets: &[]management.ActionSecret{
			{Name: auth0.String("MAILPROOF_WEBHOOK_SECRET"), Value: auth0.String("whsec_one")},
			{Name: auth0.String("MAILPROOF_URL"), Value: auth0.String("https://mailproof.example.com")},
		},
	}
	if err := m.Action.Create(ctx, a); err != nil {
		t.Fatalf("create: %v", err)
	}
	if a.GetID() == "" || a.GetStatus() != management.ActionStatusPending || len(a.GetSecrets()) != 2 {
		t.Fatalf("create: %s, want an id, pending, two secrets", management.Stringify(a))
	}
	// The SDK keeps the values it sent in the struct, so look at the wire.
	hc := httpClient(tn, 5*time.Second)
	raw := call(t, hc, http.MethodGet, tn.URL()+"/api/v2/actions/actions/"+a.GetID(), token(t, tn, hc), nil)
	if raw.status != http.StatusOK || strings.Contains(string(raw.body), "whsec_one") {
		t.Errorf("read on the wire: %d %s, want 200 without secret values", raw.status, raw.body)
	}
	if err := m.Action.Create(ctx, &management.Action{Name: auth0.String(name), SupportedTriggers: a.SupportedTriggers}); statusOf(err) != http.StatusConflict {
		t.Errorf("create with a taken name: %v, want 409", err)
	}
	if _, err := m.Action.Deploy(ctx, a.GetID()); statusOf(err) != http.StatusBadRequest {
		t.Errorf("deploy before the build: %v, want 400", err)
	}

	clock.Advance(time.Second)
	read, err := m.Action.Read(ctx, a.GetID())
	if err != nil || read.GetStatus() != management.ActionStatusBuilt {
		t.Fatalf("read after the build delay: %v %s, want built", err, management.Stringify(read))
	}
	bind := []*management.ActionBinding{{
		Ref:         &management.ActionBindingReference{Type: auth0.String(management.ActionBindingReferenceByName), Value: auth0.String(name)},
		DisplayName: auth0.String("mailproof"),
	}}
	if err := m.Action.UpdateBindings(ctx, management.ActionTriggerPostLogin, bind); statusOf(err) != http.StatusBadRequest {
		t.Errorf("bind before deploy: %v, want 400", err)
	}

	v, err := m.Action.Deploy(ctx, a.GetID())
	if err != nil || v.Number != 1 || v.GetAction().GetID() != a.GetID() {
		t.Fatalf("deploy: %v %s, want version 1 of the action", err, management.Stringify(v))
	}
	read, err = m.Action.Read(ctx, a.GetID())
	if err != nil || read.GetDeployedVersion().Number != 1 || !read.AllChangesDeployed {
		t.Errorf("read after deploy: %v %s, want deployed version 1, all changes deployed", err, management.Stringify(read))
	}

	list, err := m.Action.List(ctx, management.Parameter("actionName", name))
	if err != nil || list.Total != 1 || len(list.Actions) != 1 || list.Actions[0].GetID() != a.GetID() {
		t.Errorf("list by name: %v %s, want the one action", err, management.Stringify(list))
	}
	if list, err := m.Action.List(ctx, management.Parameter("actionName", "other")); err != nil || list.Total != 0 {
		t.Errorf("list by another name: %v %s, want none", err, management.Stringify(list))
	}

	if err := m.Action.UpdateBindings(ctx, management.ActionTriggerPostLogin, bind); err != nil {
		t.Fatalf("bind: %v", err)
	}
	bl, err := m.Action.Bindings(ctx, management.ActionTriggerPostLogin)
	if err != nil || len(bl.Bindings) != 1 || bl.Bindings[0].GetAction().GetID() != a.GetID() ||
		bl.Bindings[0].GetDisplayName() != "mailproof" || bl.Bindings[0].GetAction().GetDeployedVersion().Number != 1 {
		t.Errorf("bindings: %v %s, want the deployed action bound as mailproof", err, management.Stringify(bl))
	}
	if got := tn.Bindings(management.ActionTriggerPostLogin); !slices.Equal(got, []string{name}) {
		t.Errorf("Bindings hook: %v, want [%s]", got, name)
	}

	// Rotate one secret; the other is sent by name only and keeps its value.
	update := &management.Action{
		Code: auth0.String("exports.onExecutePostLogin = async () => { /* v2 */ };"),
		Secrets: &[]management.ActionSecret{
			{Name: auth0.String("MAILPROOF_WEBHOOK_SECRET"), Value: auth0.String("whsec_two")},
			{Name: auth0.String("MAILPROOF_URL")},
		},
	}
	if err := m.Action.Update(ctx, a.GetID(), update); err != nil {
		t.Fatalf("update: %v", err)
	}
	if update.GetStatus() != management.ActionStatusPending || update.AllChangesDeployed {
		t.Errorf("update: %s, want pending with undeployed changes", management.Stringify(update))
	}
	got, _ := tn.Action(name)
	if got.Secrets["MAILPROOF_WEBHOOK_SECRET"] != "whsec_two" || got.Secrets["MAILPROOF_URL"] != "https://mailproof.example.com" ||
		got.DeployedVersion != 1 || got.DeployedCode == got.Code {
		t.Errorf("Action hook after update: %+v, want the rotated secret, the kept one, version 1 still deployed", got)
	}

	if _, err := m.Action.Read(ctx, "00000000-0000-4000-8000-000000000000"); statusOf(err) != http.StatusNotFound {
		t.Errorf("read unknown action: %v, want 404", err)
	}
	if _, err := m.Action.Bindings(ctx, "not-a-trigger"); statusOf(err) != http.StatusBadRequest {
		t.Errorf("bindings of an unknown trigger: %v, want 400", err)
	}
	if err := m.Action.UpdateBindings(ctx, management.ActionTriggerPostLogin, []*management.ActionBinding{}); err != nil {
		t.Errorf("unbind all: %v", err)
	}
	if got := tn.Bindings(management.ActionTriggerPostLogin); len(got) != 0 {
		t.Errorf("Bindings after unbinding: %v, want none", got)
	}
}

func TestUsersWithGoAuth0(t *testing.T) {
	tn := NewT(t, Config{Scopes: allScopes()})
	m := newManagement(t, tn)
	ctx := context.Background()

	u := &management.User{
		Connection: auth0.String(DefaultConnection), Email: auth0.String("ada@example.com"),
		Password: auth0.String(strongPassword), EmailVerified: auth0.Bool(false), VerifyEmail: auth0.Bool(false),
		Name: auth0.String("Ada"),
	}
	if err := m.User.Create(ctx, u); err != nil {
		t.Fatalf("create: %v", err)
	}
	read, err := m.User.Read(ctx, u.GetID())
	if err != nil || read.GetEmail() != "ada@example.com" || read.GetEmailVerified() || read.CreatedAt == nil ||
		len(read.Identities) != 1 || read.Identities[0].GetProvider() != "auth0" {
		t.Fatalf("read: %v %s", err, management.Stringify(read))
	}
	if err := m.User.Update(ctx, u.GetID(), &management.User{EmailVerified: auth0.Bool(true)}); err != nil {
		t.Fatalf("verify: %v", err)
	}
	if got, _ := tn.User(u.GetID()); !got.EmailVerified {
		t.Errorf("email_verified not set by the SDK's PATCH")
	}
	tk := &management.Ticket{UserID: auth0.String(u.GetID()), ResultURL: auth0.String("https://app.example.com/"), TTLSec: auth0.Int(60)}
	if err := m.Ticket.ChangePassword(ctx, tk); err != nil || tk.GetTicket() == "" {
		t.Errorf("ticket: %v %q", err, tk.GetTicket())
	}
	if err := m.User.Delete(ctx, u.GetID()); err != nil {
		t.Errorf("delete: %v", err)
	}
	if _, err := m.User.Read(ctx, u.GetID()); statusOf(err) != http.StatusNotFound {
		t.Errorf("read deleted: %v, want 404", err)
	}
	if n := tn.CountCalls(http.MethodPost, "/oauth/token"); n != 1 {
		t.Errorf("token requests: %d, want 1 reused across calls", n)
	}
}

func TestActionBuildPhasesAndFailures(t *testing.T) {
	clock := newFakeClock()
	tn := NewT(t, Config{Now: clock.Now, BuildDelay: 2 * time.Second})
	m := newManagement(t, tn)
	ctx := context.Background()
	post := []management.ActionTrigger{{ID: auth0.String(management.ActionTriggerPostLogin), Version: auth0.String("v3")}}
	status := func(id string) string {
		t.Helper()
		a, err := m.Action.Read(ctx, id)
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		return a.GetStatus()
	}

	a := &management.Action{Name: auth0.String("phases"), SupportedTriggers: post, Code: auth0.String("// v1")}
	if err := m.Action.Create(ctx, a); err != nil || a.GetStatus() != "pending" {
		t.Fatalf("create: %v, status %q, want pending", err, a.GetStatus())
	}
	phases := []struct {
		advance time.Duration
		want    string
	}{{0, "pending"}, {999 * time.Millisecond, "pending"}, {time.Millisecond, "building"}, {999 * time.Millisecond, "building"}, {time.Millisecond, "built"}}
	for _, p := range phases {
		clock.Advance(p.advance)
		if got := status(a.GetID()); got != p.want {
			t.Fatalf("after %v more: status %q, want %q", p.advance, got, p.want)
		}
	}
	if _, err := m.Action.Deploy(ctx, a.GetID()); err != nil {
		t.Fatalf("deploy: %v", err)
	}
	bind := []*management.ActionBinding{{Ref: &management.ActionBindingReference{
		Type: auth0.String(management.ActionBindingReferenceByID), Value: auth0.String(a.GetID())}}}
	if err := m.Action.UpdateBindings(ctx, management.ActionTriggerPostLogin, bind); err != nil {
		t.Fatalf("bind: %v", err)
	}

	// An update whose build fails: the draft says failed, cannot be
	// deployed, and the version deployed before stays live and bound.
	tn.FailNextBuild()
	if err := m.Action.Update(ctx, a.GetID(), &management.Action{Code: auth0.String("// v2, broken")}); err != nil {
		t.Fatalf("update: %v", err)
	}
	clock.Advance(time.Second)
	if got := status(a.GetID()); got != "building" {
		t.Errorf("failing build half way: status %q, want building", got)
	}
	clock.Advance(time.Second)
	read, err := m.Action.Read(ctx, a.GetID())
	if err != nil || read.GetStatus() != management.ActionStatusFailed || read.GetDeployedVersion().Number != 1 || read.AllChangesDeployed {
		t.Fatalf("read after the failed build: %v %s, want failed with version 1 still deployed", err, management.Stringify(read))
	}
	if _, err := m.Action.Deploy(ctx, a.GetID()); statusOf(err) != http.StatusBadRequest {
		t.Errorf("deploy of a failed build: %v, want 400", err)
	}
	if got, _ := tn.Action("phases"); got.Status != "failed" || got.DeployedCode != "// v1" || got.Code != "// v2, broken" {
		t.Errorf("Action hook: %+v, want failed draft v2 and deployed v1", got)
	}
	if got := tn.Bindings(management.ActionTriggerPostLogin); !slices.Equal(got, []string{"phases"}) {
		t.Errorf("bindings after the failed build: %v, want [phases]", got)
	}

	// The next build succeeds again; FailNextBuild fails one build each.
	if err := m.Action.Update(ctx, a.GetID(), &management.Action{Code: auth0.String("// v3")}); err != nil {
		t.Fatalf("update: %v", err)
	}
	clock.Advance(2 * time.Second)
	if got := status(a.GetID()); got != "built" {
		t.Errorf("build after the failed one: %q, want built", got)
	}
	tn.FailNextBuild()
	tn.FailNextBuild()
	for _, name := range []string{"broken-1", "broken-2", "fine"} {
		b := &management.Action{Name: auth0.String(name), SupportedTriggers: post, Code: auth0.String("//")}
		if err := m.Action.Create(ctx, b); err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
	}
	clock.Advance(2 * time.Second)
	for name, want := range map[string]string{"broken-1": "failed", "broken-2": "failed", "fine": "built"} {
		if got, _ := tn.Action(name); got.Status != want {
			t.Errorf("%s: status %q, want %q", name, got.Status, want)
		}
	}
}

func TestBindingsPaged(t *testing.T) {
	tn := NewT(t, Config{BuildDelay: time.Nanosecond})
	m := newManagement(t, tn)
	ctx := context.Background()
	var bind []*management.ActionBinding
	for i := range 3 {
		name := "action-" + string(rune('a'+i))
		a := &management.Action{Name: auth0.String(name), Code: auth0.String("//"),
			SupportedTriggers: []management.ActionTrigger{{ID: auth0.String(management.ActionTriggerPostLogin), Version: auth0.String("v3")}}}
		if err := m.Action.Create(ctx, a); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Action.Deploy(ctx, a.GetID()); err != nil {
			t.Fatal(err)
		}
		bind = append(bind, &management.ActionBinding{Ref: &management.ActionBindingReference{
			Type: auth0.String(management.ActionBindingReferenceByName), Value: auth0.String(name)}})
	}
	if err := m.Action.UpdateBindings(ctx, management.ActionTriggerPostLogin, bind); err != nil {
		t.Fatal(err)
	}
	c := httpClient(tn, 5*time.Second)
	tok := token(t, tn, c)
	tests := []struct {
		query       string
		wantStatus  int
		wantNames   []string
		wantPerPage float64
	}{
		{"", 200, []string{"action-a", "action-b", "action-c"}, 20},
		{"per_page=2", 200, []string{"action-a", "action-b"}, 2},
		{"per_page=2&page=1", 200, []string{"action-c"}, 2},
		{"per_page=2&page=2", 200, nil, 2},
		{"per_page=50", 200, []string{"action-a", "action-b", "action-c"}, 50},
		{"per_page=0", 400, nil, 0},
		{"page=x", 400, nil, 0},
	}
	for _, tc := range tests {
		resp := call(t, c, http.MethodGet, tn.URL()+"/api/v2/actions/triggers/post-login/bindings?"+tc.query, tok, nil)
		if resp.status != tc.wantStatus {
			t.Errorf("%q: status %d (%s), want %d", tc.query, resp.status, resp.body, tc.wantStatus)
			continue
		}
		if tc.wantStatus != http.StatusOK {
			continue
		}
		got := resp.json(t)
		var names []string
		for _, b := range got["bindings"].([]any) {
			names = append(names, b.(map[string]any)["display_name"].(string))
		}
		if !slices.Equal(names, tc.wantNames) || got["total"] != 3.0 || got["per_page"] != tc.wantPerPage {
			t.Errorf("%q: %v, total %v, per_page %v, want %v, 3, %v", tc.query, names, got["total"], got["per_page"], tc.wantNames, tc.wantPerPage)
		}
	}
}
