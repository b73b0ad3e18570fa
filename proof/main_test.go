package proof

import (
	"testing"

	"github.com/mailproof/mailproof/store/redistest"
)

// TestMain gives the package's tests one shared real redis-server.
func TestMain(m *testing.M) { redistest.Main(m) }
