package auth0test

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
)

// parser is a recursive-descent parser over the query text.
type parser struct {
	s   string
	pos int
}

// parseQuery parses q; the error says what is wrong, for the 400 answer.
func parseQuery(q string) (query, error) {
	p := &parser{s: q}
	out, err := p.sequence("")
	if err != nil {
		return nil, err
	}
	if p.skipSpace(); p.pos < len(p.s) {
		return nil, fmt.Errorf("unexpected %q at position %d", p.s[p.pos], p.pos)
	}
	return out, nil
}

// sequence parses clauses joined by AND or OR until a closing parenthesis
// or the end. Lucene does not give AND precedence over OR, so a sequence
// mixing them is refused, as is a clause without an operator before it
// (Lucene would read it as OR): the emulator asks for what means the same
// everywhere.
func (p *parser) sequence(field string) (query, error) {
	var clauses []query
	op := ""
	for {
		p.skipSpace()
		if p.pos == len(p.s) || p.s[p.pos] == ')' {
			break
		}
		if len(clauses) > 0 {
			word := p.operator()
			switch {
			case word == "":
				return nil, fmt.Errorf("missing AND or OR before position %d", p.pos)
			case op != "" && word != op:
				return nil, errors.New("AND and OR mixed without parentheses")
			}
			op = word
			p.skipSpace()
		}
		c, err := p.clause(field)
		if err != nil {
			return nil, err
		}
		clauses = append(clauses, c)
	}
	switch {
	case len(clauses) == 0:
		return nil, fmt.Errorf("empty expression at position %d", p.pos)
	case len(clauses) == 1:
		return clauses[0], nil
	case op == "AND":
		return allOf(clauses), nil
	}
	return anyOf(clauses), nil
}

// operator consumes AND or OR (capitals, then a space or a parenthesis).
func (p *parser) operator() string {
	for _, op := range []string{"AND", "OR"} {
		if p.keyword(op) {
			return op
		}
	}
	return ""
}

func (p *parser) keyword(word string) bool {
	if !strings.HasPrefix(p.s[p.pos:], word) {
		return false
	}
	end := p.pos + len(word)
	if end < len(p.s) && !unicode.IsSpace(rune(p.s[end])) && p.s[end] != '(' {
		return false
	}
	p.pos = end
	return true
}

// clause parses NOT clause, a parenthesised sequence, field:value or a
// value for field (the default fields when field is empty).
func (p *parser) clause(field string) (query, error) {
	if p.keyword("NOT") {
		p.skipSpace()
		c, err := p.clause(field)
		if err != nil {
			return nil, err
		}
		return negate{c}, nil
	}
	if p.pos == len(p.s) {
		return nil, errors.New("expression ends after an operator")
	}
	switch c := p.s[p.pos]; {
	case c == '(':
		return p.group(field)
	case c == ')':
		return nil, fmt.Errorf("unexpected ')' at position %d", p.pos)
	case c == '+' || c == '-' || c == '!':
		return nil, fmt.Errorf("prefix %q at position %d: use NOT", c, p.pos)
	case c == '"' || c == '[' || c == '{':
		return p.value(field)
	}
	start := p.pos
	word, err := p.word(true)
	if err != nil {
		return nil, err
	}
	if p.pos < len(p.s) && p.s[p.pos] == ':' {
		if field != "" {
			return nil, fmt.Errorf("field %q inside %s:(…)", word.text, field)
		}
		name := word.text
		if !validFieldName(name) || word.escaped {
			return nil, fmt.Errorf("invalid field name %q", name)
		}
		p.pos++
		p.skipSpace()
		if name == "_exists_" {
			return p.exists()
		}
		return p.value(name)
	}
	p.pos = start
	return p.value(field)
}

func (p *parser) group(field string) (query, error) {
	p.pos++ // (
	q, err := p.sequence(field)
	if err != nil {
		return nil, err
	}
	if p.pos == len(p.s) || p.s[p.pos] != ')' {
		return nil, errors.New("missing closing parenthesis")
	}
	p.pos++
	return q, nil
}

func (p *parser) exists() (query, error) {
	w, err := p.word(false)
	switch {
	case err != nil:
		return nil, err
	case w.text == "" || !validFieldName(w.text):
		return nil, fmt.Errorf("_exists_ needs a field name, got %q", w.text)
	}
	return existsQuery(w.text), nil
}

// value parses what follows field: a group, a phrase, a range or a term.
func (p *parser) value(field string) (query, error) {
	if p.pos == len(p.s) {
		return nil, fmt.Errorf("missing value for %s", field)
	}
	switch p.s[p.pos] {
	case '(':
		return p.group(field)
	case '"':
		text, err := p.phrase()
		if err != nil {
			return nil, err
		}
		return onFields(field, func(f string) (query, error) { return termQuery(f, term{text: text, phrase: true}) })
	case '[', '{':
		return p.rangeValue(field)
	}
	w, err := p.word(false)
	if err != nil {
		return nil, err
	}
	if w.raw == "" {
		return nil, fmt.Errorf("missing value for %s", field)
	}
	return onFields(field, func(f string) (query, error) { return termQuery(f, w) })
}

func validFieldName(name string) bool {
	if name == "" {
		return false
	}
	for _, c := range name {
		if c != '_' && c != '.' && !unicode.IsLetter(c) && !unicode.IsDigit(c) {
			return false
		}
	}
	return !strings.HasPrefix(name, ".") && !strings.HasSuffix(name, ".") && !strings.Contains(name, "..")
}

// defaultFields are what a value without a field name is matched against:
// the normalized profile fields, never metadata.
var defaultFields = []string{"email", "name", "nickname", "given_name", "family_name"}

// onFields builds q for field, or for each default field (any of them
// matching) when field is empty.
func onFields(field string, q func(string) (query, error)) (query, error) {
	if field != "" {
		return q(field)
	}
	var out anyOf
	for _, f := range defaultFields {
		c, err := q(f)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}
