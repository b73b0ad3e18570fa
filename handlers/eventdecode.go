package handlers

import (
	"strconv"
	"time"
)

// field names a known member; its bit marks it in eventDecoder.seen and .have.
type field uint8

const (
	fType field = iota
	fTimestamp
	fData
	fTenant
	fTenantID
	fTransaction
	fTransactionID
	fSession
	fSessionID
	fConnection
	fConnectionID
	fConnectionName
	fStrategy
	fAuthentication
	fMethods
	fMethod // the fMethod fields are reset for each element of methods
	fMethodName
	fMethodTimestamp
	fStats
	fLoginsCount
	fRequest
	fIP
	fUserAgent
	fUser
	fUserID
	fEmail
	fEmailVerified
	fCreatedAt
	fLastPasswordReset
)

func (f field) bit() uint64 { return 1 << f }

func (f field) path() string {
	return [...]string{
		fType: "type", fTimestamp: "timestamp", fData: "data",
		fTenant: "data.tenant", fTenantID: "data.tenant.id",
		fTransaction: "data.transaction", fTransactionID: "data.transaction.id",
		fSession: "data.session", fSessionID: "data.session.id",
		fConnection: "data.connection", fConnectionID: "data.connection.id",
		fConnectionName: "data.connection.name", fStrategy: "data.connection.strategy",
		fAuthentication: "data.authentication", fMethods: "data.authentication.methods",
		fMethod: "", fMethodName: ".name", fMethodTimestamp: ".timestamp", // after methods[i]
		fStats: "data.stats", fLoginsCount: "data.stats.logins_count",
		fRequest: "data.request", fIP: "data.request.ip", fUserAgent: "data.request.user_agent",
		fUser: "data.user", fUserID: "data.user.user_id", fEmail: "data.user.email",
		fEmailVerified: "data.user.email_verified", fCreatedAt: "data.user.created_at",
		fLastPasswordReset: "data.user.last_password_reset",
	}[f]
}

// eventDecoder walks the body once. A JSON error (err) stops the walk; a field error
// (first) is recorded and the walk goes on, so that a JSON error anywhere and the
// event type still take precedence over it.
type eventDecoder struct {
	buf     []byte
	pos     int
	depth   int
	seen    uint64 // known members met, null or not
	have    uint64 // known members with a value of the right type
	method  int    // index of the methods element being read, for error paths
	err     *EventError
	first   *EventError
	scratch []byte // unescaped member names
}

func (d *eventDecoder) fieldErr(f field, problem string) {
	if d.first != nil {
		return
	}
	path := f.path()
	if f >= fMethod && f <= fMethodTimestamp {
		path = "data.authentication.methods[" + strconv.Itoa(d.method) + "]" + path
	}
	d.first = &EventError{Field: path, Problem: problem}
}

// known reads the value of member f with read. A repeated member is an error; null
// counts as absent (JSON.stringify drops undefined, so Auth0 may send either); a value
// of another type is skipped and recorded against f.
func known[T any](d *eventDecoder, f field, read func(*eventDecoder) (T, string)) (v T) {
	if d.err != nil {
		return v
	}
	if d.seen&f.bit() != 0 {
		d.fieldErr(f, "appears more than once")
	}
	d.seen |= f.bit()
	if d.peek() == 'n' {
		d.literal("null")
		return v
	}
	v, problem := read(d)
	if problem != "" {
		var zero T
		d.fieldErr(f, problem)
		return zero
	}
	d.have |= f.bit()
	return v
}

func (d *eventDecoder) event(ev *PostLoginEvent) {
	for first := true; d.more(first, '}'); first = false {
		switch string(d.key()) {
		case "type":
			ev.Type = known(d, fType, (*eventDecoder).stringValue)
		case "timestamp":
			ev.Timestamp = known(d, fTimestamp, (*eventDecoder).timeValue)
		case "data":
			if known(d, fData, (*eventDecoder).object) {
				d.data(&ev.Data)
			}
		default:
			d.skip()
		}
	}
}

func (d *eventDecoder) data(p *PostLoginData) {
	for first := true; d.more(first, '}'); first = false {
		switch string(d.key()) {
		case "tenant":
			p.Tenant.ID = d.idObject(fTenant, fTenantID)
		case "transaction":
			p.Transaction.ID = d.idObject(fTransaction, fTransactionID)
		case "session":
			p.Session.ID = d.idObject(fSession, fSessionID)
		case "connection":
			if known(d, fConnection, (*eventDecoder).object) {
				d.connection(&p.Connection)
			}
		case "authentication":
			if known(d, fAuthentication, (*eventDecoder).object) {
				d.authentication(&p.Authentication)
			}
		case "stats":
			if known(d, fStats, (*eventDecoder).object) {
				for first := true; d.more(first, '}'); first = false {
					if string(d.key()) == "logins_count" {
						p.Stats.LoginsCount = known(d, fLoginsCount, (*eventDecoder).countValue)
					} else {
						d.skip()
					}
				}
			}
		case "request":
			if known(d, fRequest, (*eventDecoder).object) {
				d.request(&p.Request)
			}
		case "user":
			if known(d, fUser, (*eventDecoder).object) {
				d.user(&p.User)
			}
		default:
			d.skip()
		}
	}
}

// idObject reads an object whose one known member is "id".
func (d *eventDecoder) idObject(obj, id field) (s string) {
	if known(d, obj, (*eventDecoder).object) {
		for first := true; d.more(first, '}'); first = false {
			if string(d.key()) == "id" {
				s = known(d, id, (*eventDecoder).stringValue)
			} else {
				d.skip()
			}
		}
	}
	return s
}

func (d *eventDecoder) connection(c *EventConnection) {
	for first := true; d.more(first, '}'); first = false {
		switch string(d.key()) {
		case "id":
			c.ID = known(d, fConnectionID, (*eventDecoder).stringValue)
		case "name":
			c.Name = known(d, fConnectionName, (*eventDecoder).stringValue)
		case "strategy":
			c.Strategy = known(d, fStrategy, (*eventDecoder).stringValue)
		default:
			d.skip()
		}
	}
}

func (d *eventDecoder) authentication(a *EventAuthentication) {
	for first := true; d.more(first, '}'); first = false {
		if string(d.key()) != "methods" {
			d.skip()
			continue
		}
		if !known(d, fMethods, (*eventDecoder).array) {
			continue
		}
		a.Methods = []AuthMethod{} // never nil: "methods": [] must survive a round trip
		for first := true; d.more(first, ']'); first = false {
			d.method = len(a.Methods)
			a.Methods = append(a.Methods, d.authMethod())
		}
	}
}

func (d *eventDecoder) authMethod() (m AuthMethod) {
	const bits = 1<<fMethod | 1<<fMethodName | 1<<fMethodTimestamp
	d.seen &^= bits
	d.have &^= bits
	if !known(d, fMethod, (*eventDecoder).object) {
		d.require(fMethod)
		return m
	}
	for first := true; d.more(first, '}'); first = false {
		switch string(d.key()) {
		case "name":
			m.Name = known(d, fMethodName, (*eventDecoder).stringValue)
		case "timestamp":
			m.Timestamp = known(d, fMethodTimestamp, (*eventDecoder).timeValue)
		default:
			d.skip()
		}
	}
	d.require(fMethodName)
	return m
}

func (d *eventDecoder) request(r *EventRequest) {
	for first := true; d.more(first, '}'); first = false {
		switch string(d.key()) {
		case "ip":
			r.IP = known(d, fIP, (*eventDecoder).stringValue)
		case "user_agent":
			r.UserAgent = known(d, fUserAgent, (*eventDecoder).stringValue)
		default:
			d.skip()
		}
	}
}

func (d *eventDecoder) user(u *EventUser) {
	for first := true; d.more(first, '}'); first = false {
		switch string(d.key()) {
		case "user_id":
			u.UserID = known(d, fUserID, (*eventDecoder).stringValue)
		case "email":
			u.Email = known(d, fEmail, (*eventDecoder).stringValue)
		case "email_verified":
			u.EmailVerified = known(d, fEmailVerified, (*eventDecoder).boolValue)
		case "created_at":
			u.CreatedAt = known(d, fCreatedAt, (*eventDecoder).timeValue)
		case "last_password_reset":
			if t := known(d, fLastPasswordReset, (*eventDecoder).timeValue); d.have&fLastPasswordReset.bit() != 0 {
				u.LastPasswordReset = &t
			}
		default:
			d.skip()
		}
	}
}

// The typed readers below return a problem instead of recording it, so that known can
// attach the path; a value of the wrong type is skipped (and so still checked as JSON).

func (d *eventDecoder) object() (bool, string) {
	if d.peek() != '{' {
		d.skip()
		return false, "must be an object"
	}
	return d.open(), ""
}

func (d *eventDecoder) array() (bool, string) {
	if d.peek() != '[' {
		d.skip()
		return false, "must be an array"
	}
	return d.open(), ""
}

func (d *eventDecoder) stringValue() (string, string) {
	if d.peek() != '"' {
		d.skip()
		return "", "must be a string"
	}
	raw, escaped := d.scanString()
	if !escaped {
		return string(raw), ""
	}
	b, ok := unescape(make([]byte, 0, len(raw)), raw)
	if !ok {
		return "", "must not contain an unpaired UTF-16 surrogate"
	}
	return string(b), ""
}

func (d *eventDecoder) timeValue() (time.Time, string) {
	const problem = "must be an RFC 3339 time"
	if d.peek() != '"' {
		d.skip()
		return time.Time{}, problem
	}
	raw, escaped := d.scanString()
	if escaped {
		raw, _ = unescape(d.scratch[:0], raw)
	}
	if d.err != nil {
		return time.Time{}, ""
	}
	if t, ok := parseISOTime(raw); ok {
		return t, ""
	}
	var t time.Time
	if t.UnmarshalText(raw) != nil { // RFC 3339 strictly, fraction optional
		return time.Time{}, problem
	}
	return t, ""
}

func (d *eventDecoder) boolValue() (bool, string) {
	switch d.peek() {
	case 't':
		d.literal("true")
		return true, ""
	case 'f':
		d.literal("false")
		return false, ""
	}
	d.skip()
	return false, "must be a boolean"
}

// countValue reads a non-negative integer in plain notation, as JSON.stringify writes one.
func (d *eventDecoder) countValue() (int, string) {
	const problem = "must be a non-negative integer"
	if c := d.peek(); c != '-' && (c < '0' || c > '9') {
		d.skip()
		return 0, problem
	}
	raw := d.number()
	if len(raw) > 15 {
		return 0, problem
	}
	n := 0
	for _, c := range raw {
		if c < '0' || c > '9' {
			return 0, problem
		}
		n = n*10 + int(c-'0')
	}
	return n, ""
}

// parseISOTime reads the one layout JavaScript's toISOString and Auth0 write,
// "2006-01-02T15:04:05.000Z", and the same without the fraction, four times faster
// than time.Time.UnmarshalText. It reports false for anything else, which then goes to
// UnmarshalText; where it reports true it agrees with UnmarshalText (FuzzParseISOTime).
func parseISOTime(b []byte) (time.Time, bool) {
	if len(b) != 20 && len(b) != 24 || b[4] != '-' || b[7] != '-' || b[10] != 'T' ||
		b[13] != ':' || b[16] != ':' || b[len(b)-1] != 'Z' {
		return time.Time{}, false
	}
	year, month, day := decimal(b[0:4]), decimal(b[5:7]), decimal(b[8:10])
	hour, minute, sec, milli := decimal(b[11:13]), decimal(b[14:16]), decimal(b[17:19]), 0
	if len(b) == 24 {
		if b[19] != '.' {
			return time.Time{}, false
		}
		milli = decimal(b[20:23])
	}
	if year < 0 || month < 1 || month > 12 || day < 1 || day > daysIn(month, year) ||
		hour < 0 || hour > 23 || minute < 0 || minute > 59 || sec < 0 || sec > 59 || milli < 0 {
		return time.Time{}, false
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, milli*int(time.Millisecond), time.UTC), true
}

// decimal reads a short run of ASCII digits, or returns -1.
func decimal(b []byte) int {
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int(c-'0')
	}
	return n
}

func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}
