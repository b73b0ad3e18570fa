package auth0test

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
)

// term is a value as written: text with escapes removed; wildcards marks
// where text has an unescaped '*'.
type term struct {
	text      string
	raw       string
	phrase    bool
	wildcards []bool // per byte of text
	escaped   bool
}

func (t term) hasWildcard() bool {
	for _, w := range t.wildcards {
		if w {
			return true
		}
	}
	return false
}

// word reads a bare term up to a space, a parenthesis or (when stopAtColon)
// an unescaped ':'; backslash escapes any character. Lucene's other
// special characters are refused unescaped.
func (p *parser) word(stopAtColon bool) (term, error) {
	var w term
	var b strings.Builder
	start := p.pos
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		switch {
		case c == '\\':
			if p.pos+1 == len(p.s) {
				return term{}, errors.New("query ends with a backslash")
			}
			b.WriteByte(p.s[p.pos+1])
			w.wildcards = append(w.wildcards, false)
			w.escaped = true
			p.pos += 2
			continue
		case unicode.IsSpace(rune(c)) || c == '(' || c == ')':
		case c == ':' && stopAtColon:
		case strings.IndexByte(`:"[]{}^~?/`, c) >= 0:
			return term{}, fmt.Errorf("unescaped %q at position %d", c, p.pos)
		default:
			b.WriteByte(c)
			w.wildcards = append(w.wildcards, c == '*')
			p.pos++
			continue
		}
		break
	}
	w.text, w.raw = b.String(), p.s[start:p.pos]
	return w, nil
}

// phrase reads a double-quoted string; backslash escapes.
func (p *parser) phrase() (string, error) {
	p.pos++ // "
	var b strings.Builder
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		switch {
		case c == '"':
			p.pos++
			return b.String(), nil
		case c == '\\' && p.pos+1 < len(p.s):
			p.pos++
			c = p.s[p.pos]
		}
		b.WriteByte(c)
		p.pos++
	}
	return "", errors.New("unterminated phrase")
}

// rangeValue reads [lo TO hi], with { or } for an exclusive end and * for
// an open one.
func (p *parser) rangeValue(field string) (query, error) {
	r := rangeBounds{loIncl: p.s[p.pos] == '['}
	p.pos++
	var err error
	if r.lo, err = p.bound(); err != nil {
		return nil, err
	}
	if p.skipSpace(); !p.keyword("TO") {
		return nil, fmt.Errorf("range needs TO at position %d", p.pos)
	}
	p.skipSpace()
	if r.hi, err = p.bound(); err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.pos == len(p.s) || (p.s[p.pos] != ']' && p.s[p.pos] != '}') {
		return nil, errors.New("range not closed with ] or }")
	}
	r.hiIncl = p.s[p.pos] == ']'
	p.pos++
	return onFields(field, func(f string) (query, error) { return rangeQuery(f, r) })
}

// bound reads one end of a range: a phrase or a run of characters up to a
// space or a closing bracket; "*" is open (returned as "").
func (p *parser) bound() (string, error) {
	p.skipSpace()
	if p.pos < len(p.s) && p.s[p.pos] == '"' {
		return p.phrase()
	}
	start := p.pos
	for p.pos < len(p.s) && !unicode.IsSpace(rune(p.s[p.pos])) && p.s[p.pos] != ']' && p.s[p.pos] != '}' {
		p.pos++
	}
	switch b := p.s[start:p.pos]; b {
	case "":
		return "", fmt.Errorf("missing range bound at position %d", p.pos)
	case "*":
		return "", nil
	default:
		return b, nil
	}
}

func (p *parser) skipSpace() {
	for p.pos < len(p.s) && unicode.IsSpace(rune(p.s[p.pos])) {
		p.pos++
	}
}
