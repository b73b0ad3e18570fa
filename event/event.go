package event

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// TypePostLogin is the Standard Webhooks type of the event the post-login Action sends.
const TypePostLogin = "auth0.post_login"

const (
	maxEventDepth = 32  // Auth0's event object nests 5 deep; anything near 32 is an attack
	maxEmailLen   = 320 // RFC 3696: 64 for the local part, @, 255 for the domain
)

// PostLogin is the body of POST /v1/events/post-login: the Standard Webhooks
// payload shape around Auth0's post-login event object. The JSON tags are the wire
// names, so json.Marshal of a decoded event decodes to the same event again.
type PostLogin struct {
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp"`
	Data      Data      `json:"data"`
}

// Data is the part of Auth0's post-login event object that mailproof reads,
// with Auth0's field names and nesting unchanged, so Auth0's documentation of the
// event object documents it. Fields Auth0 adds are ignored.
type Data struct {
	Tenant         Tenant         `json:"tenant"`
	Transaction    Transaction    `json:"transaction"`
	Session        Session        `json:"session"`
	Connection     Connection     `json:"connection"`
	Authentication Authentication `json:"authentication"`
	Stats          Stats          `json:"stats"`
	Request        Request        `json:"request"`
	User           User           `json:"user"`
}

// Tenant is event.tenant.
type Tenant struct {
	ID string `json:"id"`
}

// Transaction is event.transaction.
type Transaction struct {
	ID string `json:"id"`
}

// Session is event.session; Auth0 omits it for some flows.
type Session struct {
	ID string `json:"id"`
}

// Connection is event.connection. Strategy is "auth0" for database connections.
type Connection struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Strategy string `json:"strategy"`
}

// Authentication is event.authentication. A decoded event's Methods is never nil.
type Authentication struct {
	Methods []AuthMethod `json:"methods"`
}

// AuthMethod is one element of event.authentication.methods; Name is "pwd" for a
// password login. Other members Auth0 sends (the "type" of an mfa factor) are ignored.
type AuthMethod struct {
	Name      string    `json:"name"`
	Timestamp time.Time `json:"timestamp,omitzero"`
}

// Stats is event.stats.
type Stats struct {
	LoginsCount int `json:"logins_count"`
}

// Request is event.request.
type Request struct {
	IP        string `json:"ip"`
	UserAgent string `json:"user_agent"`
}

// User is event.user. LastPasswordReset is nil when Auth0 sent none: a user who
// never changed the password created for them.
type User struct {
	UserID            string     `json:"user_id"`
	Email             string     `json:"email"`
	EmailVerified     bool       `json:"email_verified"`
	CreatedAt         time.Time  `json:"created_at,omitzero"`
	LastPasswordReset *time.Time `json:"last_password_reset,omitempty"`
}

// Error is why Decode rejected a body. Field is the JSON path of the
// offending member ("data.user.email_verified", "data.authentication.methods[1].name"),
// or empty when the body as a whole is at fault. Neither part ever quotes the body, so
// the message is safe to return to the sender and to log.
type Error struct {
	Field   string
	Problem string
}

// Error names the field and the problem.
func (e *Error) Error() string {
	if e.Field == "" {
		return "post-login event: body " + e.Problem
	}
	return "post-login event: " + e.Field + " " + e.Problem
}

// Decode parses and checks a post-login event body strictly. The body must be
// UTF-8 JSON holding one object nested at most 32 deep, whose type is
// TypePostLogin. Required, and checked for their JSON type: type, timestamp,
// data.user.user_id (at most 256 bytes), data.user.email (contains @, at most 320
// bytes), data.user.email_verified (a missing boolean is an error, never false),
// data.connection.name, data.connection.strategy and data.authentication.methods (may be
// empty). Known members that are present must have the right type; null counts as
// absent; a repeated known member is an error; unknown members are ignored. user_id and
// email must not contain control or invisible formatting characters, so an id is safe
// in a log line; other characters are kept verbatim (an id like "auth0|x}:{mp}" is
// accepted, so whatever stores ids must encode or hash them). Times are RFC 3339 with
// an optional fraction. A failure is an *Error.
//
// The decoder is a single pass written for this one shape: encoding/json takes about 6
// times longer on a 2 KiB event (BenchmarkDecode), matches member names
// case-insensitively and keeps the last of repeated members, none of which suits a
// security decision.
func Decode(body []byte) (PostLogin, error) {
	var ev PostLogin
	if !utf8.Valid(body) { // checked up front: strings are then copied as they are
		return ev, &Error{Problem: "is not valid UTF-8"}
	}
	d := eventDecoder{buf: body}
	d.ws()
	isObject := d.peek() == '{'
	if isObject {
		if d.open() {
			d.event(&ev)
		}
	} else {
		d.skip()
	}
	d.ws()
	if d.err == nil && d.pos != len(body) {
		d.syntax()
	}
	if d.err == nil && !isObject {
		d.err = &Error{Problem: "must be a JSON object"}
	}
	if d.err != nil {
		return PostLogin{}, d.err
	}
	d.fillStrings(&ev)
	if err := d.validate(&ev); err != nil {
		return PostLogin{}, err
	}
	return ev, nil
}

// validate applies the rules a single member cannot check on its own. The event type
// comes first: it decides which shape applies at all.
func (d *eventDecoder) validate(ev *PostLogin) *Error {
	switch {
	case d.seen&fType.bit() == 0:
		return &Error{Field: "type", Problem: "is required"}
	case d.have&fType.bit() == 0:
		return &Error{Field: "type", Problem: "must be a string"}
	case ev.Type != TypePostLogin:
		return &Error{Field: "type", Problem: "unknown event type"}
	}
	// Parents before children, so a missing object is reported rather than its members.
	for _, f := range [...]field{fTimestamp, fData, fConnection, fConnectionName, fStrategy,
		fAuthentication, fMethods, fUser, fUserID, fEmail, fEmailVerified} {
		d.require(f)
	}
	c, u := &ev.Data.Connection, &ev.Data.User
	if c.Name == "" {
		d.fieldErr(fConnectionName, "must not be empty")
	}
	if c.Strategy == "" {
		d.fieldErr(fStrategy, "must not be empty")
	}
	if err := CheckUserID(u.UserID); err != nil {
		d.fieldErr(fUserID, err.Error())
	}
	d.text(fEmail, u.Email, maxEmailLen)
	if strings.IndexByte(u.Email, '@') < 0 {
		d.fieldErr(fEmail, "must be an email address")
	}
	return d.first
}

// require records a required field that is absent, or present but null.
func (d *eventDecoder) require(f field) {
	switch {
	case d.have&f.bit() != 0:
	case d.seen&f.bit() != 0:
		d.fieldErr(f, "must not be null") // or of the wrong type, already recorded
	default:
		d.fieldErr(f, "is required")
	}
}

func (d *eventDecoder) text(f field, s string, limit int) {
	switch {
	case s == "":
		d.fieldErr(f, "must not be empty")
	case len(s) > limit:
		d.fieldErr(f, "must be at most "+strconv.Itoa(limit)+" bytes")
	case hasControl(s):
		d.fieldErr(f, "must not contain control characters")
	}
}
