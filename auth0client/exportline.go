package auth0client

import (
	"encoding/json"
	"fmt"
	"time"
)

// ExportFields are the user fields an export must hold for DecodeExportLine: what the
// reconcile sweep judges a user on, and nothing more (no names, no metadata beyond
// mailproof's marker). identities[0] is the primary identity: Auth0 lists it first.
var ExportFields = []string{
	"user_id", "email", "email_verified", "identities[0].connection", "identities[0].provider",
	"created_at", "updated_at", "last_login", "logins_count", "last_password_reset", "app_metadata." + ProvisionMarker,
}

// exportLine is one JSON line of an export of ExportFields, each under its own name.
type exportLine struct {
	UserID            string          `json:"user_id"`
	Email             string          `json:"email"`
	EmailVerified     bool            `json:"email_verified"`
	Connection        string          `json:"identities[0].connection"`
	Provider          string          `json:"identities[0].provider"`
	CreatedAt         time.Time       `json:"created_at"`
	UpdatedAt         time.Time       `json:"updated_at"`
	LastLogin         time.Time       `json:"last_login"`
	LoginsCount       int             `json:"logins_count"`
	LastPasswordReset time.Time       `json:"last_password_reset"`
	Marker            json.RawMessage `json:"app_metadata.mailproof"`
}

// DecodeExportLine reads one line of an export made with ExportFields. A field the
// user does not have is absent from its line and reads as the zero value; a line
// without a user id is an error.
func DecodeExportLine(line []byte) (User, error) {
	var l exportLine
	if err := json.Unmarshal(line, &l); err != nil {
		return User{}, fmt.Errorf("export line: %w", err)
	}
	if l.UserID == "" {
		return User{}, fmt.Errorf("export line without a user_id")
	}
	return User{
		ID: l.UserID, Email: l.Email, EmailVerified: l.EmailVerified,
		Connection: l.Connection, DatabaseConnection: l.Provider == "auth0",
		CreatedAt: l.CreatedAt, UpdatedAt: l.UpdatedAt, LastLogin: l.LastLogin, LoginsCount: l.LoginsCount,
		LastPasswordReset: l.LastPasswordReset,
		Provisioned:       len(l.Marker) > 0 && string(l.Marker) != "null",
	}, nil
}
