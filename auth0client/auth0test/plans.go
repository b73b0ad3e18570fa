package auth0test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Plans whose rate limits the tenant applies (Config.Plan, SetPlan). The
// package documentation lists each one's buckets and where the numbers come
// from.
const (
	// PlanFree is Auth0's Free plan.
	PlanFree = "free"
	// PlanEssentials is Auth0's Essentials and Professional plans, which
	// share their limits.
	PlanEssentials = "essentials"
	// PlanEnterprise is an Enterprise production tenant.
	PlanEnterprise = "enterprise"
	// PlanNonProduction is an Enterprise tenant tagged non-production.
	PlanNonProduction = "non-production"
	// PlanCustom is one Management API bucket sized by Config.Rate and
	// Config.Burst (50/s and 50 when zero), with Enterprise's
	// Authentication API limits: fast enough that tests about something
	// else never meet a limit. It is the default.
	PlanCustom = "custom"
)

// family names a group of requests that spend one bucket.
type family string

const (
	// famManagement is the Management API's own limit, which every call
	// spends first on the plans that have one.
	famManagement family = "management"
	// The endpoint groups of the Essentials and Professional plans that
	// mailproof's calls meet, and the bucket every other endpoint shares.
	famUserReads       family = "user reads"
	famUserWrites      family = "user writes"
	famConnectionReads family = "connection reads"
	famOtherManagement family = "other management"
	// famAuthentication is the Authentication API's own limit; famToken is
	// POST /oauth/token's.
	famAuthentication family = "authentication"
	famToken          family = "token"
)

// profile is a plan's limits by family; a family a plan has no limit for is
// absent.
type profile map[family]limit

// Auth0's limits on /oauth/token and on the Authentication API of the paid
// plans, which the profiles share.
var (
	tokenLimit      = perSecond(30, 30)
	enterpriseAuthn = perSecond(100, 100)
)

var plans = map[string]profile{
	PlanFree: {
		famManagement:     perSecond(2, 2),
		famAuthentication: perMinute(300, 300),
		famToken:          tokenLimit,
	},
	PlanEssentials: {
		famUserReads:       perMinute(40, 500),
		famUserWrites:      perMinute(20, 200),
		famConnectionReads: perMinute(5, 50),
		famOtherManagement: perMinute(10, 150),
		famAuthentication:  perSecond(25, 25),
		famToken:           tokenLimit,
	},
	PlanEnterprise: {
		famManagement:     perSecond(50, 16),
		famAuthentication: enterpriseAuthn,
		famToken:          tokenLimit,
	},
	PlanNonProduction: {
		famManagement:     perSecond(10, 2),
		famAuthentication: enterpriseAuthn,
		famToken:          tokenLimit,
	},
}

// mailproofFamilies are the Management API families mailproof's calls spend.
var mailproofFamilies = []family{famManagement, famUserReads, famUserWrites, famOtherManagement}

// PlanRate is the sustained Management API rate, in calls per second, that
// mailproof's calls can keep up on plan without a 429: the slowest refill
// among the buckets they spend (MAILPROOF_AUTH0_RATE). It is an error for
// PlanCustom and unknown plans.
func PlanRate(plan string) (float64, error) {
	p, ok := plans[plan]
	if !ok {
		return 0, fmt.Errorf("auth0test: no plan %q (want %s)", plan, planNames())
	}
	rate := 0.0
	for _, f := range mailproofFamilies {
		if l, ok := p[f]; ok && (rate == 0 || l.perSecondRate() < rate) {
			rate = l.perSecondRate()
		}
	}
	return rate, nil
}

func planNames() string {
	return strings.Join([]string{PlanFree, PlanEssentials, PlanEnterprise, PlanNonProduction, PlanCustom}, ", ")
}

// families lists the buckets a request spends, in the order Auth0 evaluates
// them: the API's own limit, then the endpoint's. The reset page and export
// downloads are no Auth0 API and spend none.
func families(method, path string) []family {
	switch {
	case strings.HasPrefix(path, apiPrefix):
		return []family{famManagement, managementFamily(method, strings.TrimPrefix(path, apiPrefix))}
	case path == resetPath, strings.HasPrefix(path, exportPrefix):
		return nil
	case method == http.MethodPost && path == "/oauth/token":
		return []family{famAuthentication, famToken}
	}
	return []family{famAuthentication}
}

// managementFamily is the Essentials and Professional group of a
// Management API path (without /api/v2/).
func managementFamily(method, rest string) family {
	users := rest == "users" || strings.HasPrefix(rest, "users/") || rest == "users-by-email"
	connections := rest == "connections" || strings.HasPrefix(rest, "connections/")
	switch {
	case users && method == http.MethodGet:
		return famUserReads
	case users && (method == http.MethodPost || method == http.MethodPatch || method == http.MethodDelete):
		return famUserWrites
	case connections && method == http.MethodGet:
		return famConnectionReads
	}
	return famOtherManagement
}

// rateLimits is the tenant's buckets under one plan; the tenant's mutex
// guards it.
type rateLimits struct {
	plan    string
	buckets map[family]*bucket
}

// newRateLimits builds the buckets of plan, full; rate and burst size the
// custom plan's Management API bucket and may only be given with it.
func newRateLimits(plan string, rate float64, burst int, now time.Time) (rateLimits, error) {
	p, ok := plans[plan]
	switch {
	case plan == "" || plan == PlanCustom:
		rate, burst = normalizeRate(rate, burst)
		p = profile{famManagement: perSecond(burst, rate), famAuthentication: enterpriseAuthn, famToken: tokenLimit}
		plan = PlanCustom
	case !ok:
		return rateLimits{}, fmt.Errorf("auth0test: no plan %q (want %s)", plan, planNames())
	case rate != 0 || burst != 0:
		return rateLimits{}, fmt.Errorf("auth0test: Rate and Burst size the custom plan; plan %q has its own limits", plan)
	}
	l := rateLimits{plan: plan, buckets: map[family]*bucket{}}
	for f, lim := range p {
		l.buckets[f] = newBucket(lim, now)
	}
	return l, nil
}

// setManagement replaces the Management API's buckets with one of lim.
func (l *rateLimits) setManagement(lim limit, now time.Time) {
	for f := range l.buckets {
		if f != famAuthentication && f != famToken {
			delete(l.buckets, f)
		}
	}
	l.buckets[famManagement] = newBucket(lim, now)
	l.plan = PlanCustom
}

// take spends one token from each bucket the request meets, in order, and
// stops at the first that is empty: a request refused by the endpoint's
// bucket has spent the API's. The state is the refusing bucket's, or else
// the most specific one's; its limit is zero when no bucket applies.
func (l *rateLimits) take(method, path string, now time.Time) (bool, rateState) {
	var st rateState
	for _, f := range families(method, path) {
		b, ok := l.buckets[f]
		if !ok {
			continue
		}
		var allowed bool
		if allowed, st = b.take(now); !allowed {
			return false, st
		}
	}
	return true, st
}

// peek is take without spending: the state take would report on success.
func (l *rateLimits) peek(method, path string, now time.Time) rateState {
	for _, f := range slices.Backward(families(method, path)) {
		if b, ok := l.buckets[f]; ok {
			return b.peek(now)
		}
	}
	return rateState{}
}
