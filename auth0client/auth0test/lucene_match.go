package auth0test

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

// fieldKind is how Auth0's index treats a field, per its "User Search
// Query Syntax" page.
type fieldKind int

const (
	// kindNone: not a searchable field (last_password_reset, or a typo):
	// a clause on it matches nobody.
	kindNone fieldKind = iota
	// kindText: a normalized name field, case-insensitive, matched by word.
	kindText
	// kindFolded: email, case-insensitive, the whole value.
	kindFolded
	// kindExact: case-sensitive, the whole value (user_id is not split at
	// the '|': user_id:auth0 does not find auth0|123, user_id:auth0* does).
	kindExact
	kindBool
	kindInt
	kindDate
	// kindAppMeta and kindUserMeta: metadata paths, case-sensitive, arrays
	// looked through. Ranges and wildcards are refused on user_metadata.
	kindAppMeta
	kindUserMeta
)

func kindOf(field string) fieldKind {
	switch field {
	case "name", "nickname", "given_name", "family_name":
		return kindText
	case "email":
		return kindFolded
	case "user_id", "email.domain", "username", "phone_number", "last_ip", "organization_id",
		"identities.connection", "identities.provider", "identities.user_id":
		return kindExact
	case "email_verified", "phone_verified", "blocked", "identities.isSocial":
		return kindBool
	case "logins_count":
		return kindInt
	case "created_at", "updated_at", "last_login":
		return kindDate
	}
	switch {
	case field == "app_metadata" || strings.HasPrefix(field, "app_metadata."):
		return kindAppMeta
	case field == "user_metadata" || strings.HasPrefix(field, "user_metadata."):
		return kindUserMeta
	}
	return kindNone
}

// nodes resolves a dotted field path in a user's document, looking through
// arrays at every level ("ignore the array level", as Auth0 puts it); null
// values are not indexed.
func nodes(doc map[string]any, field string) []any {
	if field == "email.domain" {
		email, _ := doc["email"].(string)
		if _, domain, ok := strings.Cut(email, "@"); ok {
			return []any{domain}
		}
		return nil
	}
	cur := []any{doc}
	for key := range strings.SplitSeq(field, ".") {
		var next []any
		for _, n := range cur {
			if m, ok := n.(map[string]any); ok && m[key] != nil {
				next = appendFlat(next, m[key])
			}
		}
		cur = next
	}
	return cur
}

func appendFlat(out []any, v any) []any {
	a, ok := v.([]any)
	if !ok {
		return append(out, v)
	}
	for _, e := range a {
		if e != nil {
			out = appendFlat(out, e)
		}
	}
	return out
}

// hasLeaf: empty objects and arrays are not indexed.
func hasLeaf(v any) bool {
	switch v := v.(type) {
	case map[string]any:
		for _, e := range v {
			if e != nil && hasLeaf(e) {
				return true
			}
		}
		return false
	case []any:
		for _, e := range v {
			if e != nil && hasLeaf(e) {
				return true
			}
		}
		return false
	}
	return v != nil
}

// fieldTest matches when some scalar value of the field passes test.
type fieldTest struct {
	field string
	test  func(v any) bool
}

func (f fieldTest) match(doc map[string]any) bool {
	for _, v := range nodes(doc, f.field) {
		if _, obj := v.(map[string]any); !obj && f.test(v) {
			return true
		}
	}
	return false
}

type fieldExists string

func (f fieldExists) match(doc map[string]any) bool {
	for _, v := range nodes(doc, string(f)) {
		if hasLeaf(v) {
			return true
		}
	}
	return false
}

func existsQuery(field string) query {
	if kindOf(field) == kindNone {
		return matchNone{}
	}
	return fieldExists(field)
}

// termQuery matches a value (a phrase when t.phrase) on field.
func termQuery(field string, t term) (query, error) {
	kind := kindOf(field)
	if kind == kindNone {
		return matchNone{}, nil
	}
	if !t.phrase && t.hasWildcard() {
		return wildcardQuery(field, kind, t)
	}
	text := t.text
	switch kind {
	case kindBool:
		if text != "true" && text != "false" {
			return nil, fmt.Errorf("%s is a boolean field: %q is neither true nor false", field, text)
		}
		return fieldTest{field, func(v any) bool { b, ok := v.(bool); return ok && strconv.FormatBool(b) == text }}, nil
	case kindInt:
		n, err := strconv.ParseFloat(text, 64)
		if err != nil {
			return nil, fmt.Errorf("%s is a number field: %q is not a number", field, text)
		}
		return fieldTest{field, func(v any) bool { f, ok := v.(float64); return ok && f == n }}, nil
	case kindDate:
		return rangeQuery(field, rangeBounds{lo: text, hi: text, loIncl: true, hiIncl: true})
	case kindText:
		want := words(text)
		return fieldTest{field, func(v any) bool { s, ok := v.(string); return ok && containsRun(words(s), want) }}, nil
	case kindFolded:
		return fieldTest{field, func(v any) bool { s, ok := v.(string); return ok && strings.EqualFold(s, text) }}, nil
	case kindExact:
		return fieldTest{field, func(v any) bool { return v == text }}, nil
	}
	return fieldTest{field, func(v any) bool { return metaEqual(v, text) }}, nil
}

// metaEqual compares a metadata value with a query value: strings exactly
// (case-sensitive), numbers and booleans by value.
func metaEqual(v any, text string) bool {
	switch v := v.(type) {
	case string:
		return v == text
	case float64:
		n, err := strconv.ParseFloat(text, 64)
		return err == nil && n == v
	case bool:
		return strconv.FormatBool(v) == text
	}
	return false
}

// words splits a normalized text value the way a standard analyzer does,
// lower-cased.
func words(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

// containsRun reports whether want appears in have as consecutive words.
func containsRun(have, want []string) bool {
	if len(want) == 0 {
		return false
	}
	for i := 0; i+len(want) <= len(have); i++ {
		if equalWords(have[i:i+len(want)], want) {
			return true
		}
	}
	return false
}

func equalWords(a, b []string) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// wildcardQuery: '*' stands for any run of characters; field:* asks
// whether the field has a value. Auth0 allows a leading wildcard only with
// at least three literal characters, and none on user_metadata.
func wildcardQuery(field string, kind fieldKind, t term) (query, error) {
	literal := 0
	for _, w := range t.wildcards {
		if !w {
			literal++
		}
	}
	switch {
	case literal == 0:
		return existsQuery(field), nil
	case kind == kindUserMeta:
		return nil, fmt.Errorf("wildcards are not available on user_metadata fields (%s)", field)
	case kind == kindBool || kind == kindInt || kind == kindDate:
		return nil, fmt.Errorf("wildcards are only available on text fields (%s)", field)
	case t.wildcards[0] && literal < 3:
		return nil, fmt.Errorf("a leading wildcard needs at least 3 other characters (%s:%s)", field, t.raw)
	}
	var b strings.Builder
	b.WriteString("(?s)^")
	if kind == kindText || kind == kindFolded {
		b.WriteString("(?i)")
	}
	run := 0
	for i, w := range t.wildcards {
		if w {
			b.WriteString(regexp.QuoteMeta(t.text[run:i]) + ".*")
			run = i + 1
		}
	}
	b.WriteString(regexp.QuoteMeta(t.text[run:]) + "$")
	re := regexp.MustCompile(b.String())
	return fieldTest{field, func(v any) bool {
		s, ok := v.(string)
		if !ok {
			return false
		}
		if re.MatchString(s) {
			return true
		}
		if kind == kindText {
			for _, w := range words(s) {
				if re.MatchString(w) {
					return true
				}
			}
		}
		return false
	}}, nil
}
