package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/mailproof/mailproof/auth0client"
	"github.com/mailproof/mailproof/auth0client/auth0test"
	"github.com/mailproof/mailproof/store"
	"github.com/mailproof/mailproof/store/redistest"
)

func TestAdminAuth(t *testing.T) {
	const token = "mpadm_0123456789abcdef0123456789abcdef"
	tests := []struct {
		name          string
		configured    string
		header        []string // Authorization values; nil sends none
		wantStatus    int
		wantCode      string
		wantChallenge string // WWW-Authenticate prefix; "" means the header must be absent
	}{
		{"no token configured hides the route", "", []string{"Bearer " + token}, 404, "not_found", ""},
		{"no token configured, no header", "", nil, 404, "not_found", ""},
		{"missing header", token, nil, 401, "unauthorized", `Bearer realm="mailproof"`},
		{"empty header", token, []string{""}, 401, "unauthorized", "Bearer"},
		{"basic scheme", token, []string{"Basic " + token}, 401, "unauthorized", "Bearer"},
		{"scheme without token", token, []string{"Bearer"}, 401, "unauthorized", "Bearer"},
		{"scheme with blank token", token, []string{"Bearer   "}, 401, "unauthorized", "Bearer"},
		{"token without scheme", token, []string{token}, 401, "unauthorized", "Bearer"},
		{"wrong token", token, []string{"Bearer mpadm_wrong"}, 401, "unauthorized", `Bearer realm="mailproof", error="invalid_token"`},
		{"token prefix", token, []string{"Bearer " + token[:len(token)-1]}, 401, "unauthorized", "Bearer"},
		{"token with suffix", token, []string{"Bearer " + token + "x"}, 401, "unauthorized", "Bearer"},
		{"token in wrong case", token, []string{"Bearer " + strings.ToUpper(token)}, 401, "unauthorized", "Bearer"},
		{"right token", token, []string{"Bearer " + token}, 200, "", ""},
		{"scheme in lower case", token, []string{"bearer " + token}, 200, "", ""},
		{"surrounding spaces", token, []string{"  Bearer  " + token + " "}, 200, "", ""},
	}
	for _, tc := range tests {
		e := echo.New()
		req := httptest.NewRequest(http.MethodGet, "/v1/pending", nil)
		for _, h := range tc.header {
			req.Header.Add(echo.HeaderAuthorization, h)
		}
		rec := httptest.NewRecorder()
		c := e.NewContext(req, rec)
		reached := false
		err := AdminAuth(tc.configured)(func(c echo.Context) error {
			reached = true
			return c.NoContent(http.StatusOK)
		})(c)

		status, code := http.StatusOK, ""
		if err != nil {
			var he *echo.HTTPError
			if !errors.As(err, &he) {
				t.Fatalf("%s: error %v is not an *echo.HTTPError", tc.name, err)
			}
			body, _ := he.Message.(Error)
			status, code = he.Code, body.Code
		}
		if status != tc.wantStatus || code != tc.wantCode {
			t.Errorf("%s: answer %d %q, want %d %q", tc.name, status, code, tc.wantStatus, tc.wantCode)
		}
		if reached != (tc.wantStatus == http.StatusOK) {
			t.Errorf("%s: handler reached %v, want %v", tc.name, reached, tc.wantStatus == http.StatusOK)
		}
		got := rec.Header().Get(echo.HeaderWWWAuthenticate)
		if tc.wantChallenge == "" && got != "" || !strings.HasPrefix(got, tc.wantChallenge) {
			t.Errorf("%s: WWW-Authenticate %q, want prefix %q", tc.name, got, tc.wantChallenge)
		}
	}
}

// adminFixture is the pending routes on a real Redis and, unless replaced, the real
// go-auth0 client against the tenant emulator.
type adminFixture struct {
	tenant *auth0test.Tenant
	a0     *auth0client.Client // nil when fixtureOptions.users replaced it
	rdb    *store.Redis
	e      *echo.Echo
	logs   *observer.ObservedLogs
}

type fixtureOptions struct {
	redisURL   string
	users      RegisterUsers // replaces the real client when set
	tenantNow  func() time.Time
	budgetWait time.Duration
}

func newAdminFixture(t *testing.T, o fixtureOptions) *adminFixture {
	t.Helper()
	if o.redisURL == "" {
		o.redisURL = redistest.URL(t)
	}
	rdb, err := store.Open(t.Context(), o.redisURL)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { rdb.Close() })
	tenant := auth0test.NewT(t, auth0test.Config{Now: o.tenantNow})
	users := o.users
	var a0 *auth0client.Client
	if users == nil {
		a0, err = auth0client.New(context.Background(), auth0client.Config{
			Domain:       tenant.Domain(),
			ClientID:     tenant.ClientID(),
			ClientSecret: tenant.ClientSecret(),
			CAFile:       tenant.CAFile(),
			Timeout:      5 * time.Second,
		})
		if err != nil {
			t.Fatalf("auth0client.New: %v", err)
		}
		users = a0
	}
	core, logs := observer.New(zap.DebugLevel)
	log := zap.New(core)

	e := echo.New()
	e.HTTPErrorHandler = jsonErrors
	e.POST("/v1/pending", RegisterPending(RegisterConfig{BudgetWait: o.budgetWait}, users, store.NewLimiter(rdb, 1000), rdb, log))
	e.GET("/v1/pending", ListPending(rdb))
	e.GET("/v1/pending/:user_id", GetPending(rdb))
	e.DELETE("/v1/pending/:user_id", DeletePending(rdb, log))
	return &adminFixture{tenant: tenant, a0: a0, rdb: rdb, e: e, logs: logs}
}

// jsonErrors writes errors in the shape of the server's error handler, so these tests
// see what a client sees without importing server.
func jsonErrors(err error, c echo.Context) {
	status, body := http.StatusInternalServerError, Error{}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		status = he.Code
		body, _ = he.Message.(Error)
	}
	if body.Code == "" {
		body.Code, body.Message = DefaultCode(status)
	}
	_ = c.JSON(status, ErrorBody{Error: body})
}

// do sends one request and returns the recorder.
func (f *adminFixture) do(method, target, contentType, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set(echo.HeaderContentType, contentType)
	}
	rec := httptest.NewRecorder()
	f.e.ServeHTTP(rec, req)
	return rec
}

func (f *adminFixture) register(userID string) *httptest.ResponseRecorder {
	return f.do(http.MethodPost, "/v1/pending", "application/json", fmt.Sprintf(`{"user_id": %q}`, userID))
}

// errorCode is the code of a JSON error answer, "" for any other body.
func errorCode(rec *httptest.ResponseRecorder) string {
	var b ErrorBody
	_ = json.Unmarshal(rec.Body.Bytes(), &b)
	return b.Error.Code
}

func decodeRecord(t *testing.T, rec *httptest.ResponseRecorder) store.Record {
	t.Helper()
	var r store.Record
	if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil {
		t.Fatalf("body %q is not a record: %v", rec.Body, err)
	}
	return r
}

// checkNoEmails fails when a log entry holds a full address.
func checkNoEmails(t *testing.T, logs *observer.ObservedLogs, emails ...string) {
	t.Helper()
	for _, entry := range logs.All() {
		line := entry.Message + fmt.Sprint(entry.ContextMap())
		for _, email := range emails {
			if strings.Contains(strings.ToLower(line), strings.ToLower(email)) {
				t.Errorf("log entry %q holds the full address %s", line, email)
			}
		}
	}
}

// fakeUsers answers GetUser with one fixed user, for the users the emulator cannot
// model (it serves every user on a database connection with an email).
type fakeUsers struct{ u auth0client.User }

func (f fakeUsers) GetUser(context.Context, string) (auth0client.User, error) { return f.u, nil }

func (f fakeUsers) MarkProvisioned(context.Context, string) error { return nil }
