package auth0test

import "strings"

// PostLoginEvent is the part of Auth0's post-login Action `event` object
// the tenant models, with Auth0's JSON names, so it marshals to what an
// Action would receive. Times are strings in Auth0's format
// (2006-01-02T15:04:05.000Z). Omitted: secrets, authorization,
// organization, resource_server, refresh_token, prompt, request.geoip and
// riskAssessment.
type PostLoginEvent struct {
	Authentication *EventAuthentication `json:"authentication,omitempty"`
	Client         EventClient          `json:"client"`
	Connection     EventConnection      `json:"connection"`
	Request        EventRequest         `json:"request"`
	// Session is absent for a password-grant login, which makes no
	// session.
	Session     *EventSession     `json:"session,omitempty"`
	Stats       EventStats        `json:"stats"`
	Tenant      EventTenant       `json:"tenant"`
	Transaction *EventTransaction `json:"transaction,omitempty"`
	User        EventUser         `json:"user"`
}

// EventAuthentication is event.authentication.
type EventAuthentication struct {
	Methods []AuthMethod `json:"methods"`
}

// AuthMethod is one entry of event.authentication.methods; Name is "pwd"
// for a database connection's password.
type AuthMethod struct {
	Name      string `json:"name"`
	Timestamp string `json:"timestamp"`
}

// EventClient is event.client, the application the login is for.
type EventClient struct {
	ClientID string         `json:"client_id"`
	Name     string         `json:"name"`
	Metadata map[string]any `json:"metadata"`
}

// EventConnection is event.connection; Strategy is "auth0" for a database
// connection.
type EventConnection struct {
	ID       string         `json:"id"`
	Name     string         `json:"name"`
	Strategy string         `json:"strategy"`
	Metadata map[string]any `json:"metadata"`
}

// EventRequest is event.request.
type EventRequest struct {
	IP        string `json:"ip"`
	Hostname  string `json:"hostname"`
	Method    string `json:"method"`
	UserAgent string `json:"user_agent,omitempty"`
	Language  string `json:"language,omitempty"`
}

// EventSession is event.session.
type EventSession struct {
	ID string `json:"id"`
}

// EventStats is event.stats; LoginsCount counts this login.
type EventStats struct {
	LoginsCount int `json:"logins_count"`
}

// EventTenant is event.tenant.
type EventTenant struct {
	ID string `json:"id"`
}

// EventTransaction is event.transaction.
type EventTransaction struct {
	ID              string   `json:"id"`
	Protocol        string   `json:"protocol"`
	RequestedScopes []string `json:"requested_scopes"`
}

// EventUser is event.user: the user as the login found it, before any
// Action ran.
type EventUser struct {
	UserID            string          `json:"user_id"`
	Email             string          `json:"email"`
	EmailVerified     bool            `json:"email_verified"`
	Name              string          `json:"name"`
	Nickname          string          `json:"nickname"`
	Picture           string          `json:"picture"`
	CreatedAt         string          `json:"created_at"`
	UpdatedAt         string          `json:"updated_at"`
	LastPasswordReset string          `json:"last_password_reset,omitempty"`
	Identities        []EventIdentity `json:"identities"`
	AppMetadata       map[string]any  `json:"app_metadata"`
	UserMetadata      map[string]any  `json:"user_metadata"`
}

// EventIdentity is one entry of event.user.identities.
type EventIdentity struct {
	Connection string `json:"connection"`
	IsSocial   bool   `json:"isSocial"`
	Provider   string `json:"provider"`
	UserID     string `json:"user_id"`
}

// eventUser is u as event.user shows it; metadata is {} rather than absent,
// as in Auth0's events.
func eventUser(u User) EventUser {
	_, local, _ := strings.Cut(u.ID, "|")
	app, user := u.AppMetadata, u.UserMetadata
	if app == nil {
		app = map[string]any{}
	}
	if user == nil {
		user = map[string]any{}
	}
	return EventUser{
		UserID:            u.ID,
		Email:             u.Email,
		EmailVerified:     u.EmailVerified,
		Name:              u.Name,
		Nickname:          u.Nickname,
		Picture:           u.Picture,
		CreatedAt:         iso(u.CreatedAt),
		UpdatedAt:         iso(u.UpdatedAt),
		LastPasswordReset: iso(u.LastPasswordReset),
		Identities:        []EventIdentity{{Connection: u.Connection, Provider: "auth0", UserID: local}},
		AppMetadata:       app,
		UserMetadata:      user,
	}
}
