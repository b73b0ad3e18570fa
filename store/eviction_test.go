package store_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/mailproof/mailproof/store"
	"github.com/mailproof/mailproof/store/redistest"
)

func TestCheckEvictionPolicy(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr bool
	}{
		{"noeviction", []string{"--maxmemory-policy", "noeviction"}, false},
		{"allkeys-lru refused", []string{"--maxmemory-policy", "allkeys-lru"}, true},
		{"volatile-ttl refused", []string{"--maxmemory-policy", "volatile-ttl"}, true},
		// Managed Redis often disables CONFIG; INFO memory still tells.
		{"CONFIG disabled, noeviction", []string{"--maxmemory-policy", "noeviction", "--rename-command", "CONFIG", ""}, false},
		{"CONFIG disabled, allkeys-lru refused", []string{"--maxmemory-policy", "allkeys-lru", "--rename-command", "CONFIG", ""}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := redistest.Dedicated(t, tc.args...)
			r := openURL(t, srv.URL())
			err := r.CheckEvictionPolicy(timeout(t))
			if tc.wantErr {
				if !errors.Is(err, store.ErrEvictionPolicy) {
					t.Fatalf("%s: error %v, want ErrEvictionPolicy", tc.name, err)
				}
				if !strings.Contains(err.Error(), "maxmemory-policy noeviction") {
					t.Errorf("%s: error %q does not tell the operator what to set", tc.name, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("%s: %v, want nil", tc.name, err)
			}
		})
	}
}
