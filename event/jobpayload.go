package event

import (
	"strconv"
	"time"
)

// AppendJobPayload appends the event as the worker's job stores it: the wire format
// with only the members the policy reads (type, timestamp, data.connection,
// data.authentication.methods and data.user). The request's IP and user agent, the
// tenant, transaction, session and stats stay out of Redis: the worker never reads
// them, a queued or dead-lettered job then holds less personal data, and the payload
// is 454 bytes where the Action's typical body is 786 (and 560 where a 1 KiB user agent
// made it 1,793), bytes Redis pays for on every event. Decode reads it back.
func (ev *PostLogin) AppendJobPayload(b []byte) []byte {
	b = append(b, `{"type":`...)
	b = appendJSONString(b, ev.Type)
	b = append(b, `,"timestamp":`...)
	b = appendJSONTime(b, ev.Timestamp)
	c := &ev.Data.Connection
	b = append(b, `,"data":{"connection":{`...)
	if c.ID != "" {
		b = append(b, `"id":`...)
		b = appendJSONString(b, c.ID)
		b = append(b, ',')
	}
	b = append(b, `"name":`...)
	b = appendJSONString(b, c.Name)
	b = append(b, `,"strategy":`...)
	b = appendJSONString(b, c.Strategy)
	b = append(b, `},"authentication":{"methods":[`...)
	for i, m := range ev.Data.Authentication.Methods {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"name":`...)
		b = appendJSONString(b, m.Name)
		if !m.Timestamp.IsZero() {
			b = append(b, `,"timestamp":`...)
			b = appendJSONTime(b, m.Timestamp)
		}
		b = append(b, '}')
	}
	u := &ev.Data.User
	b = append(b, `]},"user":{"user_id":`...)
	b = appendJSONString(b, u.UserID)
	b = append(b, `,"email":`...)
	b = appendJSONString(b, u.Email)
	b = append(b, `,"email_verified":`...)
	b = strconv.AppendBool(b, u.EmailVerified)
	if !u.CreatedAt.IsZero() {
		b = append(b, `,"created_at":`...)
		b = appendJSONTime(b, u.CreatedAt)
	}
	if u.LastPasswordReset != nil {
		b = append(b, `,"last_password_reset":`...)
		b = appendJSONTime(b, *u.LastPasswordReset)
	}
	return append(b, "}}}"...)
}

// appendJSONTime writes t as RFC 3339 with as many fraction digits as it needs, which
// reads back as the same instant.
func appendJSONTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// appendJSONString writes s as a JSON string. s is valid UTF-8 (the decoder checked the
// whole body); quote, backslash and control characters are escaped, the rest is copied.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
