package event

import (
	"strconv"
	"strings"
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
	err     *Error
	first   *Error
	scratch []byte // unescaped member names
	// String values are not copied one by one: str records where each one is and
	// which member it is, and fillStrings copies them all into one allocation. A member is
	// recorded once (a repeat is an error), so there are at most len(spans).
	spans  [len(stringFields)]stringSpan
	nspans int
}

// stringSpan is the value of member f, waiting in buf[start:end] (escaped or not).
type stringSpan struct {
	f          field
	start, end int
	n          int // length once unescaped
	escaped    bool
}

// stringFields are the members read with str.
var stringFields = [...]field{fType, fTenantID, fTransactionID, fSessionID, fConnectionID,
	fConnectionName, fStrategy, fIP, fUserAgent, fUserID, fEmail}

// setString stores member f's value. A field number, not a pointer, is what str
// records: a pointer kept in the decoder would move the event to the heap.
func (ev *PostLogin) setString(f field, v string) {
	p := &ev.Data
	switch f {
	case fType:
		ev.Type = v
	case fTenantID:
		p.Tenant.ID = v
	case fTransactionID:
		p.Transaction.ID = v
	case fSessionID:
		p.Session.ID = v
	case fConnectionID:
		p.Connection.ID = v
	case fConnectionName:
		p.Connection.Name = v
	case fStrategy:
		p.Connection.Strategy = v
	case fIP:
		p.Request.IP = v
	case fUserAgent:
		p.Request.UserAgent = v
	case fUserID:
		p.User.UserID = v
	case fEmail:
		p.User.Email = v
	}
}

func (d *eventDecoder) fieldErr(f field, problem string) {
	if d.first != nil {
		return
	}
	path := f.path()
	if f >= fMethod && f <= fMethodTimestamp {
		path = "data.authentication.methods[" + strconv.Itoa(d.method) + "]" + path
	}
	d.first = &Error{Field: path, Problem: problem}
}

// member starts reading known member f and reports whether there is a value to read. A
// repeated member is an error; null counts as absent (JSON.stringify drops undefined,
// so Auth0 may send either).
func (d *eventDecoder) member(f field) bool {
	if d.err != nil {
		return false
	}
	if d.seen&f.bit() != 0 {
		d.fieldErr(f, "appears more than once")
	}
	d.seen |= f.bit()
	if d.peek() == 'n' {
		d.literal("null")
		return false
	}
	return true
}

// got records how reading member f's value went: a problem against f, or f present.
func (d *eventDecoder) got(f field, problem string) bool {
	if problem != "" {
		d.fieldErr(f, problem)
		return false
	}
	d.have |= f.bit()
	return true
}

// The typed member readers below pair member and got around a value reader. (One
// generic reader taking the value reader as a func value cost the decoder a heap
// allocation: escape analysis cannot see through a func value.)

func (d *eventDecoder) objectMember(f field) bool {
	if !d.member(f) {
		return false
	}
	ok, problem := d.object()
	return d.got(f, problem) && ok
}

func (d *eventDecoder) arrayMember(f field) bool {
	if !d.member(f) {
		return false
	}
	ok, problem := d.array()
	return d.got(f, problem) && ok
}

func (d *eventDecoder) timeMember(f field) (t time.Time) {
	if d.member(f) {
		if v, problem := d.timeValue(); d.got(f, problem) {
			t = v
		}
	}
	return t
}

func (d *eventDecoder) boolMember(f field) (b bool) {
	if d.member(f) {
		if v, problem := d.boolValue(); d.got(f, problem) {
			b = v
		}
	}
	return b
}

func (d *eventDecoder) countMember(f field) (n int) {
	if d.member(f) {
		if v, problem := d.countValue(); d.got(f, problem) {
			n = v
		}
	}
	return n
}

func (d *eventDecoder) nameMember(f field) (s string) {
	if d.member(f) {
		if v, problem := d.stringValue(); d.got(f, problem) {
			s = v
		}
	}
	return s
}

func (d *eventDecoder) event(ev *PostLogin) {
	for first := true; d.more(first, '}'); first = false {
		switch string(d.key()) {
		case "type":
			d.str(fType)
		case "timestamp":
			ev.Timestamp = d.timeMember(fTimestamp)
		case "data":
			if d.objectMember(fData) {
				d.data(&ev.Data)
			}
		default:
			d.skip()
		}
	}
}

func (d *eventDecoder) data(p *Data) {
	for first := true; d.more(first, '}'); first = false {
		switch string(d.key()) {
		case "tenant":
			d.idObject(fTenant, fTenantID)
		case "transaction":
			d.idObject(fTransaction, fTransactionID)
		case "session":
			d.idObject(fSession, fSessionID)
		case "connection":
			if d.objectMember(fConnection) {
				d.connection()
			}
		case "authentication":
			if d.objectMember(fAuthentication) {
				d.authentication(&p.Authentication)
			}
		case "stats":
			if d.objectMember(fStats) {
				for first := true; d.more(first, '}'); first = false {
					if string(d.key()) == "logins_count" {
						p.Stats.LoginsCount = d.countMember(fLoginsCount)
					} else {
						d.skip()
					}
				}
			}
		case "request":
			if d.objectMember(fRequest) {
				d.request()
			}
		case "user":
			if d.objectMember(fUser) {
				d.user(&p.User)
			}
		default:
			d.skip()
		}
	}
}

// idObject reads an object whose one known member is "id".
func (d *eventDecoder) idObject(obj, id field) {
	if d.objectMember(obj) {
		for first := true; d.more(first, '}'); first = false {
			if string(d.key()) == "id" {
				d.str(id)
			} else {
				d.skip()
			}
		}
	}
}

func (d *eventDecoder) connection() {
	for first := true; d.more(first, '}'); first = false {
		switch string(d.key()) {
		case "id":
			d.str(fConnectionID)
		case "name":
			d.str(fConnectionName)
		case "strategy":
			d.str(fStrategy)
		default:
			d.skip()
		}
	}
}

func (d *eventDecoder) authentication(a *Authentication) {
	for first := true; d.more(first, '}'); first = false {
		if string(d.key()) != "methods" {
			d.skip()
			continue
		}
		if !d.arrayMember(fMethods) {
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
	if !d.objectMember(fMethod) {
		d.require(fMethod)
		return m
	}
	for first := true; d.more(first, '}'); first = false {
		switch string(d.key()) {
		case "name":
			m.Name = d.nameMember(fMethodName)
		case "timestamp":
			m.Timestamp = d.timeMember(fMethodTimestamp)
		default:
			d.skip()
		}
	}
	d.require(fMethodName)
	return m
}

func (d *eventDecoder) request() {
	for first := true; d.more(first, '}'); first = false {
		switch string(d.key()) {
		case "ip":
			d.str(fIP)
		case "user_agent":
			d.str(fUserAgent)
		default:
			d.skip()
		}
	}
}

func (d *eventDecoder) user(u *User) {
	for first := true; d.more(first, '}'); first = false {
		switch string(d.key()) {
		case "user_id":
			d.str(fUserID)
		case "email":
			d.str(fEmail)
		case "email_verified":
			u.EmailVerified = d.boolMember(fEmailVerified)
		case "created_at":
			u.CreatedAt = d.timeMember(fCreatedAt)
		case "last_password_reset":
			if t := d.timeMember(fLastPasswordReset); d.have&fLastPasswordReset.bit() != 0 {
				u.LastPasswordReset = &t
			}
		default:
			d.skip()
		}
	}
}

// The value readers below return a problem instead of recording it, so that got can
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

// str reads string member f; fillStrings gives the event its value once the walk is done.
func (d *eventDecoder) str(f field) {
	repeated := d.seen&f.bit() != 0
	if !d.member(f) {
		return
	}
	if d.peek() != '"' {
		d.skip()
		d.got(f, "must be a string")
		return
	}
	start := d.pos + 1
	raw, escaped := d.scanString()
	if d.err != nil {
		return
	}
	n := len(raw)
	if escaped {
		var ok bool
		if d.scratch, ok = unescape(d.scratch[:0], raw); !ok {
			d.got(f, "must not contain an unpaired UTF-16 surrogate")
			return
		}
		n = len(d.scratch)
	}
	d.got(f, "")
	if !repeated { // a repeat is an error already; the event is never used
		d.spans[d.nspans] = stringSpan{f, start, start + len(raw), n, escaped}
		d.nspans++
	}
}

// fillStrings gives the event the values str recorded, all of them slices of one copy.
func (d *eventDecoder) fillStrings(ev *PostLogin) {
	n := 0
	for _, sp := range d.spans[:d.nspans] {
		n += sp.n
	}
	var b strings.Builder
	b.Grow(n)
	for _, sp := range d.spans[:d.nspans] {
		raw := d.buf[sp.start:sp.end]
		if sp.escaped {
			d.scratch, _ = unescape(d.scratch[:0], raw)
			raw = d.scratch
		}
		b.Write(raw)
	}
	all, off := b.String(), 0
	for _, sp := range d.spans[:d.nspans] {
		ev.setString(sp.f, all[off:off+sp.n])
		off += sp.n
	}
}

// stringValue reads a string that gets its own copy, but for the factor names Auth0
// documents, which cost nothing.
func (d *eventDecoder) stringValue() (string, string) {
	if d.peek() != '"' {
		d.skip()
		return "", "must be a string"
	}
	raw, escaped := d.scanString()
	if !escaped {
		switch string(raw) {
		case "pwd":
			return "pwd", ""
		case "mfa":
			return "mfa", ""
		case "federated":
			return "federated", ""
		case "passkey":
			return "passkey", ""
		}
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
