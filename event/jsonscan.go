package event

import (
	"encoding/binary"
	"math/bits"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// The rest is a JSON scanner: whitespace, tokens, nesting and skipping unknown values.

func (d *eventDecoder) peek() byte {
	if d.pos < len(d.buf) {
		return d.buf[d.pos]
	}
	return 0
}

func (d *eventDecoder) ws() {
	// Compact JSON, which JSON.stringify writes, has no whitespace: one test per call.
	for d.pos < len(d.buf) && d.buf[d.pos] <= ' ' {
		switch d.buf[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

func (d *eventDecoder) syntax() {
	if d.err != nil {
		return
	}
	if d.pos >= len(d.buf) {
		d.err = &Error{Problem: "is not valid JSON: unexpected end"}
		return
	}
	d.err = &Error{Problem: "is not valid JSON: unexpected character at offset " + strconv.Itoa(d.pos)}
}

// open consumes '{' or '[' and enforces the depth limit, which also bounds recursion.
func (d *eventDecoder) open() bool {
	d.pos++
	d.depth++
	if d.depth > maxEventDepth && d.err == nil {
		d.err = &Error{Problem: "nests deeper than " + strconv.Itoa(maxEventDepth) + " levels"}
	}
	return d.err == nil
}

// more reports whether another member or element follows, consuming the comma before
// it, or the closing end after the last one.
func (d *eventDecoder) more(first bool, end byte) bool {
	if d.err != nil {
		return false
	}
	d.ws()
	switch c := d.peek(); {
	case c == end:
		d.pos++
		d.depth--
		return false
	case first:
	case c == ',':
		d.pos++
		d.ws()
	default:
		d.syntax()
		return false
	}
	return true
}

// key reads a member name and the colon after it. The name may alias d.scratch.
func (d *eventDecoder) key() []byte {
	if d.peek() != '"' {
		d.syntax()
		return nil
	}
	name, escaped := d.scanString()
	if escaped {
		d.scratch, _ = unescape(d.scratch[:0], name)
		name = d.scratch
	}
	d.ws()
	if d.peek() != ':' {
		d.syntax()
		return nil
	}
	d.pos++
	d.ws()
	return name
}

// skip consumes one value of any type, checking it as JSON.
func (d *eventDecoder) skip() {
	if d.err != nil {
		return
	}
	switch c := d.peek(); {
	case c == '{':
		for first := d.open(); d.more(first, '}'); first = false {
			d.key()
			d.skip()
		}
	case c == '[':
		for first := d.open(); d.more(first, ']'); first = false {
			d.skip()
		}
	case c == '"':
		d.scanString()
	case c == 't':
		d.literal("true")
	case c == 'f':
		d.literal("false")
	case c == 'n':
		d.literal("null")
	case c == '-' || '0' <= c && c <= '9':
		d.number()
	default:
		d.syntax()
	}
}

func (d *eventDecoder) literal(lit string) {
	if len(d.buf)-d.pos < len(lit) || string(d.buf[d.pos:d.pos+len(lit)]) != lit {
		d.syntax()
		return
	}
	d.pos += len(lit)
}

// number consumes a number in JSON's grammar and returns its text.
func (d *eventDecoder) number() []byte {
	b, i := d.buf, d.pos
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		i = digits(b, i)
	default:
		d.pos = i
		d.syntax()
		return nil
	}
	if i < len(b) && b[i] == '.' {
		if i = digits(b, i+1); b[i-1] == '.' {
			d.pos = i
			d.syntax()
			return nil
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		if i++; i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		start := i
		if i = digits(b, i); i == start {
			d.pos = i
			d.syntax()
			return nil
		}
	}
	raw := b[d.pos:i]
	d.pos = i
	return raw
}

func digits(b []byte, i int) int {
	for i < len(b) && '0' <= b[i] && b[i] <= '9' {
		i++
	}
	return i
}

// scanString consumes a string token and returns the bytes between the quotes, and
// whether they hold escapes. Raw control characters and bad escapes are JSON errors.
func (d *eventDecoder) scanString() (raw []byte, escaped bool) {
	b, i := d.buf, d.pos+1
	for {
		i += plainRun(b[i:])
		switch {
		case i == len(b) || b[i] < 0x20:
			d.pos = i
			d.syntax()
			return nil, false
		case b[i] == '"':
			raw = b[d.pos+1 : i]
			d.pos = i + 1
			return raw, escaped
		}
		n := escapeLen(b[i+1:])
		if n == 0 {
			d.pos = i
			d.syntax()
			return nil, false
		}
		escaped = true
		i += 1 + n
	}
}

// plainRun returns how many bytes at the start of b are plain string content: no quote,
// backslash or control character. Strings are most of an event, so it tests 8 bytes at
// a time with the classic "has a zero byte" bit trick. The trick may flag bytes above
// the first real hit, never below it, so the lowest flag is the exact position.
func plainRun(b []byte) int {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	i := 0
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		q, s := x^('"'*ones), x^('\\'*ones)
		if m := ((x-0x20*ones)&^x | (q-ones)&^q | (s-ones)&^s) & highs; m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for i < len(b) && b[i] >= 0x20 && b[i] != '"' && b[i] != '\\' {
		i++
	}
	return i
}

// escapeLen returns the length of the escape after a backslash, or 0 if it is invalid.
func escapeLen(b []byte) int {
	if len(b) == 0 {
		return 0
	}
	switch b[0] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return 1
	case 'u':
		if len(b) >= 5 && hex4(b[1:5]) >= 0 {
			return 5
		}
	}
	return 0
}

func hex4(b []byte) rune {
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}

// unescape appends the text of an escaped string (already checked by scanString) to
// dst. It reports false for an unpaired UTF-16 surrogate, which it writes as U+FFFD.
func unescape(dst, raw []byte) ([]byte, bool) {
	ok := true
	for i := 0; i < len(raw); {
		if raw[i] != '\\' {
			dst = append(dst, raw[i])
			i++
			continue
		}
		c := raw[i+1]
		i += 2
		switch c {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r := hex4(raw[i:])
			i += 4
			if utf16.IsSurrogate(r) {
				low := rune(-1)
				if i+6 <= len(raw) && raw[i] == '\\' && raw[i+1] == 'u' {
					low = hex4(raw[i+2:])
				}
				if r = utf16.DecodeRune(r, low); r == utf8.RuneError {
					ok = false
				} else {
					i += 6
				}
			}
			dst = utf8.AppendRune(dst, r)
		default: // '"', '\\' and '/' stand for themselves
			dst = append(dst, c)
		}
	}
	return dst, ok
}
