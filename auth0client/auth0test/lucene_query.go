package auth0test

// query is a parsed search query (the q parameter); see the package
// documentation for the subset understood.
type query interface {
	match(doc map[string]any) bool
}

type (
	allOf  []query // AND
	anyOf  []query // OR
	negate struct{ q query }
	// matchNone is a clause on a field Auth0 does not index: it matches no
	// user, whatever the value.
	matchNone struct{}
)

func (qs allOf) match(doc map[string]any) bool {
	for _, q := range qs {
		if !q.match(doc) {
			return false
		}
	}
	return true
}

func (qs anyOf) match(doc map[string]any) bool {
	for _, q := range qs {
		if q.match(doc) {
			return true
		}
	}
	return false
}

func (n negate) match(doc map[string]any) bool { return !n.q.match(doc) }
func (matchNone) match(map[string]any) bool    { return false }
