package server

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/mailproof/mailproof/auth0client"
	"github.com/mailproof/mailproof/auth0client/auth0test"
	"github.com/mailproof/mailproof/handlers"
	"github.com/mailproof/mailproof/store"
	"github.com/mailproof/mailproof/store/redistest"
)

const adminToken = "mpadm_test_0123456789abcdef01234567"

// adminMain is the main listener's Echo exactly as Run builds it (middleware, error
// handler, routes), with the admin API on a real Redis and the real go-auth0 client
// against the tenant emulator.
func adminMain(t *testing.T, token string) (*echo.Echo, *auth0test.Tenant) {
	t.Helper()
	rdb, err := store.Open(t.Context(), redistest.URL(t))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { rdb.Close() })
	tenant := auth0test.NewT(t, auth0test.Config{})
	a0, err := auth0client.New(context.Background(), auth0client.Config{
		Domain: tenant.Domain(), ClientID: tenant.ClientID(), ClientSecret: tenant.ClientSecret(),
		CAFile: tenant.CAFile(), Timeout: 5 * time.Second,
	})
	if err != nil {
		t.Fatalf("auth0client.New: %v", err)
	}
	reg := prometheus.NewRegistry()
	httpM := newHTTPMetrics(reg)
	mainE := newEcho("main", 64<<10, zap.NewNop(), httpM)
	opsE := newEcho("ops", 64<<10, zap.NewNop(), httpM)
	cfg := Config{AdminToken: token, BodyLimit: 64 << 10, Tolerance: 5 * time.Minute, RedisTimeout: time.Second,
		WebhookSecrets: []string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}}
	v, err := newVerifier(cfg, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	in := store.NewIngester(rdb, 0)
	t.Cleanup(in.Close)
	routes(mainE, opsE, routeDeps{
		cfg:         cfg,
		verifier:    v,
		ingester:    in,
		metrics:     handlers.NewMetrics(reg, v.KeyIDs()),
		log:         zap.NewNop(),
		reg:         reg,
		pending:     rdb,
		users:       a0,
		budget:      store.NewLimiter(rdb, 100),
		provisioner: NewProvisioner(Config{Auth0Rate: 100, Auth0AuthRate: 100}, rdb, a0, zap.NewNop()),
		answers:     rdb,
	})
	return mainE, tenant
}

// adminCall is one request to the admin API and what must come back.
type adminCall struct {
	name       string
	method     string
	path       string
	auth       string // Authorization header; "" sends none
	body       string
	wantStatus int
	wantCode   string // error code; "" for a success
}

func (tc adminCall) run(t *testing.T, e *echo.Echo) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body))
	if tc.body != "" {
		req.Header.Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
	}
	if tc.auth != "" {
		req.Header.Set(echo.HeaderAuthorization, tc.auth)
	}
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	var body handlers.ErrorBody
	_ = json.Unmarshal(rec.Body.Bytes(), &body)
	if rec.Code != tc.wantStatus || body.Error.Code != tc.wantCode {
		t.Errorf("%s: answer %d %q (%s), want %d %q", tc.name, rec.Code, body.Error.Code, rec.Body, tc.wantStatus, tc.wantCode)
	}
	if tc.wantCode != "" && body.Error.Message == "" {
		t.Errorf("%s: error body %s has no message", tc.name, rec.Body)
	}
	challenge := rec.Header().Get(echo.HeaderWWWAuthenticate)
	if (tc.wantStatus == http.StatusUnauthorized) != strings.HasPrefix(challenge, "Bearer") {
		t.Errorf("%s: WWW-Authenticate %q with status %d", tc.name, challenge, rec.Code)
	}
	return rec
}

func TestAdminRoutesWithoutToken(t *testing.T) {
	e, tenant := adminMain(t, "")
	u := tenant.AddUser(auth0test.UserSeed{Email: "ada@example.com"})
	for _, tc := range []adminCall{
		{"register", "POST", "/v1/pending", "Bearer " + adminToken, `{"user_id":"` + u.ID + `"}`, 404, "not_found"},
		{"register without credentials", "POST", "/v1/pending", "", `{"user_id":"` + u.ID + `"}`, 404, "not_found"},
		{"list", "GET", "/v1/pending", "", "", 404, "not_found"},
		{"get", "GET", "/v1/pending/auth0%7C1", "", "", 404, "not_found"},
		{"delete", "DELETE", "/v1/pending/auth0%7C1", "Bearer x", "", 404, "not_found"},
		{"provision", "POST", "/v1/users", "Bearer " + adminToken, `{"email":"kate@example.com"}`, 404, "not_found"},
	} {
		tc.run(t, e)
	}
	if n := tenant.CountCalls("", "/api/v2/"); n != 0 {
		t.Errorf("%d Management API calls with the admin API off, want none", n)
	}
}

func TestAdminProvisioning(t *testing.T) {
	e, tenant := adminMain(t, adminToken)
	bearer := "Bearer " + adminToken
	stranger := tenant.AddUser(auth0test.UserSeed{Email: "olga@example.com"})
	for _, tc := range []adminCall{
		{"provision without credentials", "POST", "/v1/users", "", `{"email":"kate@example.com"}`, 401, "unauthorized"},
		{"provision with a wrong token", "POST", "/v1/users", "Bearer nope", `{"email":"kate@example.com"}`, 401, "unauthorized"},
		{"provision an invalid address", "POST", "/v1/users", bearer, `{"email":"kate at example.com"}`, 400, "bad_request"},
		{"provision with an unknown field", "POST", "/v1/users", bearer, `{"email":"kate@example.com","role":"admin"}`, 400, "bad_request"},
		{"provision on an unknown connection", "POST", "/v1/users", bearer, `{"email":"kate@example.com","connection":"Nope"}`, 400, "auth0_rejected"},
		{"provision a user mailproof did not create", "POST", "/v1/users", bearer, `{"email":"olga@example.com"}`, 409, "user_exists"},
		{"provision", "POST", "/v1/users", bearer, `{"email":"kate@example.com","name":"Kate"}`, 201, ""},
		{"provision again", "POST", "/v1/users", bearer, `{"email":"kate@example.com","name":"Kate"}`, 200, ""},
		{"adopt", "POST", "/v1/users", bearer, `{"email":"olga@example.com","adopt":true}`, 201, ""},
		{"resend to a user with no record", "POST", "/v1/users/auth0%7Cnobody/resend", bearer, "", 409, "not_pending"},
	} {
		tc.run(t, e)
	}
	if n := tenant.SentTo("kate@example.com"); n != 1 {
		t.Errorf("%d reset emails to kate, want 1 after two requests", n)
	}
	if n := tenant.SentTo(stranger.Email); n != 1 {
		t.Errorf("%d reset emails to the adopted user, want 1", n)
	}
	kate := tenant.UsersByEmail("kate@example.com")[0]
	resend := "/v1/users/" + strings.ReplaceAll(kate.ID, "|", "%7C") + "/resend"
	(adminCall{"resend within the minute", "POST", resend, bearer, "", 429, "overloaded"}).run(t, e)
	(adminCall{"resend as a ticket", "POST", resend, bearer, `{"delivery":"ticket"}`, 200, ""}).run(t, e)
	if n := tenant.SentTo("kate@example.com"); n != 1 {
		t.Errorf("%d reset emails to kate after the resends, want 1", n)
	}

	// An Idempotency-Key gives a retried request the first answer, ticket URL included;
	// the same key with another body is refused.
	send := func(key, body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", "/v1/users", strings.NewReader(body))
		req.Header.Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
		req.Header.Set(echo.HeaderAuthorization, bearer)
		req.Header.Set("Idempotency-Key", key)
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		return rec
	}
	body := `{"email":"tom@example.com","delivery":"ticket"}`
	tickets := tenant.CountCalls("POST", "/api/v2/tickets/password-change")
	first, second := send("k-1", body), send("k-1", body)
	if first.Code != 201 || second.Code != 201 || first.Body.String() != second.Body.String() || !strings.Contains(first.Body.String(), `"ticket_url":"https://`) {
		t.Errorf("same key twice: %d %s / %d %s; want the same 201 with the ticket URL", first.Code, first.Body, second.Code, second.Body)
	}
	if n := tenant.CountCalls("POST", "/api/v2/tickets/password-change") - tickets; n != 1 {
		t.Errorf("%d tickets for one key, want 1", n)
	}
	if other := send("k-1", `{"email":"tim@example.com"}`); other.Code != 422 {
		t.Errorf("same key, another body: %d %s, want 422", other.Code, other.Body)
	}
}

// TestAdminProvisioningWithoutScope: an application without create:users gets a 503 that
// names the scope, and POST /v1/pending without update:users the same.
func TestAdminProvisioningWithoutScope(t *testing.T) {
	e, tenant := adminMain(t, adminToken)
	tenant.SetScopes([]string{"read:users"})
	bearer := "Bearer " + adminToken
	u := tenant.AddUser(auth0test.UserSeed{Email: "ada@example.com"})
	for _, tc := range []struct {
		call      adminCall
		wantScope string
	}{
		{adminCall{"provision without create:users", "POST", "/v1/users", bearer, `{"email":"kate@example.com"}`, 503, "auth0_unavailable"}, "create:users"},
		{adminCall{"register without update:users", "POST", "/v1/pending", bearer, `{"user_id":"` + u.ID + `"}`, 503, "auth0_unavailable"}, "update:users"},
	} {
		rec := tc.call.run(t, e)
		var body handlers.ErrorBody
		_ = json.Unmarshal(rec.Body.Bytes(), &body)
		if !strings.Contains(body.Error.Message, tc.wantScope) || !strings.Contains(body.Error.Message, "grant") {
			t.Errorf("%s: message %q, want it to name %s and say to grant it", tc.call.name, body.Error.Message, tc.wantScope)
		}
	}
}

func TestAdminRoutes(t *testing.T) {
	e, tenant := adminMain(t, adminToken)
	u := tenant.AddUser(auth0test.UserSeed{Email: "Ada@Example.com"})
	escaped := "/v1/pending/" + strings.ReplaceAll(u.ID, "|", "%7C")
	bearer := "Bearer " + adminToken
	for _, tc := range []adminCall{
		{"register without credentials", "POST", "/v1/pending", "", `{"user_id":"` + u.ID + `"}`, 401, "unauthorized"},
		{"register with a wrong token", "POST", "/v1/pending", "Bearer nope", `{"user_id":"` + u.ID + `"}`, 401, "unauthorized"},
		{"list with basic auth", "GET", "/v1/pending", "Basic " + adminToken, "", 401, "unauthorized"},
		{"get without credentials", "GET", escaped, "", "", 401, "unauthorized"},
		{"delete with a wrong token", "DELETE", escaped, "Bearer nope", "", 401, "unauthorized"},
		{"get before registration", "GET", escaped, bearer, "", 404, "not_found"},
		{"register unknown user", "POST", "/v1/pending", bearer, `{"user_id":"auth0|nobody"}`, 404, "user_not_found"},
		{"register with an unknown field", "POST", "/v1/pending", bearer, `{"user_id":"` + u.ID + `","x":1}`, 400, "bad_request"},
		{"register", "POST", "/v1/pending", bearer, `{"user_id":"` + u.ID + `"}`, 201, ""},
		{"register again", "POST", "/v1/pending", bearer, `{"user_id":"` + u.ID + `"}`, 200, ""},
		{"get", "GET", escaped, bearer, "", 200, ""},
		{"list", "GET", "/v1/pending?limit=10", bearer, "", 200, ""},
		{"list with a bad limit", "GET", "/v1/pending?limit=1000", bearer, "", 400, "bad_request"},
		{"delete", "DELETE", escaped, bearer, "", 204, ""},
		{"get after delete", "GET", escaped, bearer, "", 404, "not_found"},
		{"delete again", "DELETE", escaped, bearer, "", 404, "not_found"},
	} {
		rec := tc.run(t, e)
		switch tc.name {
		case "get":
			var r store.Record
			if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil || r.UserID != u.ID || r.Email != "ada@example.com" || r.Status != store.StatusPending {
				t.Errorf("%s: body %s, want the pending record of %s with its normalized email", tc.name, rec.Body, u.ID)
			}
		case "list":
			var p handlers.PendingPage
			if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || len(p.Records) != 1 || p.Records[0].UserID != u.ID || p.NextCursor != "" {
				t.Errorf("%s: body %s, want one record of %s and no next cursor", tc.name, rec.Body, u.ID)
			}
		}
	}
}
