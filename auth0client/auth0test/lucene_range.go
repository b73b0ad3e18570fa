package auth0test

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// rangeBounds is [lo TO hi] as written; an empty bound is open (*).
type rangeBounds struct {
	lo, hi         string
	loIncl, hiIncl bool
}

// rangeQuery matches values between the bounds: dates by time, numbers by
// value, text by string order (case-folded for the normalized fields).
func rangeQuery(field string, r rangeBounds) (query, error) {
	switch kind := kindOf(field); kind {
	case kindNone:
		return matchNone{}, nil
	case kindBool:
		return nil, fmt.Errorf("ranges are not available on boolean fields (%s)", field)
	case kindUserMeta:
		return nil, fmt.Errorf("ranges are not available on user_metadata fields (%s)", field)
	case kindDate:
		return dateRange(field, r)
	case kindInt:
		for _, b := range []string{r.lo, r.hi} {
			if _, err := strconv.ParseFloat(b, 64); b != "" && err != nil {
				return nil, fmt.Errorf("%s is a number field: %q is not a number", field, b)
			}
		}
		return fieldTest{field, func(v any) bool { return r.contains(v, false) }}, nil
	default:
		fold := kind == kindText || kind == kindFolded
		return fieldTest{field, func(v any) bool { return r.contains(v, fold) }}, nil
	}
}

// contains compares numbers with numeric bounds and strings with any
// bounds; a value of another type is outside.
func (r rangeBounds) contains(v any, fold bool) bool {
	cmp := func(bound string) (int, bool) {
		switch v := v.(type) {
		case float64:
			n, err := strconv.ParseFloat(bound, 64)
			if err != nil {
				return 0, false
			}
			switch {
			case v < n:
				return -1, true
			case v > n:
				return 1, true
			}
			return 0, true
		case string:
			if fold {
				return strings.Compare(strings.ToLower(v), strings.ToLower(bound)), true
			}
			return strings.Compare(v, bound), true
		}
		return 0, false
	}
	if r.lo != "" {
		c, ok := cmp(r.lo)
		if !ok || c < 0 || c == 0 && !r.loIncl {
			return false
		}
	}
	if r.hi != "" {
		c, ok := cmp(r.hi)
		if !ok || c > 0 || c == 0 && !r.hiIncl {
			return false
		}
	}
	return true
}

// dateRange treats a bound as the period it names: 2026-12 is all of
// December, so [2026-12 TO *] starts on the 1st and {2026-12 TO *] after
// the 31st; a full timestamp names one millisecond, Auth0's precision.
func dateRange(field string, r rangeBounds) (query, error) {
	var from, until time.Time // from inclusive, until exclusive; zero: open
	if r.lo != "" {
		start, end, err := datePeriod(r.lo)
		if err != nil {
			return nil, fmt.Errorf("%s is a date field: %w", field, err)
		}
		from = start
		if !r.loIncl {
			from = end
		}
	}
	if r.hi != "" {
		start, end, err := datePeriod(r.hi)
		if err != nil {
			return nil, fmt.Errorf("%s is a date field: %w", field, err)
		}
		until = end
		if !r.hiIncl {
			until = start
		}
	}
	return fieldTest{field, func(v any) bool {
		s, _ := v.(string)
		at, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return false
		}
		return (from.IsZero() || !at.Before(from)) && (until.IsZero() || at.Before(until))
	}}, nil
}

// datePeriod parses a date bound: a year, a month, a day, a minute
// (2026-12-01T10:30), or a full timestamp with or without a zone (UTC
// when none), and returns the period it names.
func datePeriod(s string) (start, end time.Time, err error) {
	periods := []struct {
		layout string
		next   func(time.Time) time.Time
	}{
		{"2006", func(t time.Time) time.Time { return t.AddDate(1, 0, 0) }},
		{"2006-01", func(t time.Time) time.Time { return t.AddDate(0, 1, 0) }},
		{"2006-01-02", func(t time.Time) time.Time { return t.AddDate(0, 0, 1) }},
		{"2006-01-02T15:04", func(t time.Time) time.Time { return t.Add(time.Minute) }},
		{"2006-01-02T15:04:05.999999999", func(t time.Time) time.Time { return t.Add(time.Millisecond) }},
		{time.RFC3339Nano, func(t time.Time) time.Time { return t.Add(time.Millisecond) }},
	}
	for _, p := range periods {
		if t, err := time.Parse(p.layout, s); err == nil {
			t = t.UTC().Truncate(time.Millisecond)
			return t, p.next(t), nil
		}
	}
	return time.Time{}, time.Time{}, fmt.Errorf("%q is not a date", s)
}
