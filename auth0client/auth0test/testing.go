package auth0test

import "testing"

// NewT starts a tenant for a test and closes it when the test ends; a start
// failure fails the test.
func NewT(t testing.TB, cfg Config) *Tenant {
	t.Helper()
	tenant, err := Start(cfg)
	if err != nil {
		t.Fatalf("start auth0 tenant emulator: %v", err)
	}
	t.Cleanup(tenant.Close)
	return tenant
}
