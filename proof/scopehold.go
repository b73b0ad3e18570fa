package proof

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/mailproof/mailproof/auth0client"
)

// scopeHold is how the worker waits out a missing Management API scope. A job Auth0
// refused for want of a scope is deferred (DeferMissingScope), not retried: every other
// job would meet the same refusal, so the replica takes no job until the pause ends,
// then tries again with whatever job comes first. Each refusal starts or extends the
// pause; the deferred job itself comes back after it. The refusal is kept for /readyz
// (MissingScope) while refusals keep coming.
type scopeHold struct {
	pause time.Duration

	mu    sync.Mutex
	until time.Time // no job is taken before it
	last  time.Time // when Auth0 last refused a call for its scope
	err   error     // that refusal
}

// refused records a refusal at now and reports whether it started a pause (none was
// running): the worker logs once per pause, not once per job.
func (h *scopeHold) refused(now time.Time, err error) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	started := !now.Before(h.until)
	h.until = now.Add(h.pause)
	h.last, h.err = now, err
	return started
}

// wait blocks while a pause runs, until it ends or ctx does.
func (h *scopeHold) wait(ctx context.Context) {
	for {
		h.mu.Lock()
		left := time.Until(h.until)
		h.mu.Unlock()
		if left <= 0 || ctx.Err() != nil {
			return
		}
		sleep(ctx, left)
	}
}

// holding reports whether a pause runs now.
func (h *scopeHold) holding() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return time.Now().Before(h.until)
}

// current returns the last refusal while refusals keep coming: within four pauses of it,
// which covers the deferred job's return and its next refusal. Once a grant lets calls
// through, it ages out.
func (h *scopeHold) current(now time.Time) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.err == nil || now.Sub(h.last) > 4*h.pause {
		return nil
	}
	return h.err
}

// MissingScope is the worker's part of the readiness check: while Auth0 keeps refusing
// its calls for want of a Management API scope, the refusal, which names the scope and
// where to grant it; nil otherwise.
func (w *Worker) MissingScope(context.Context) error {
	return w.scope.current(time.Now())
}

// holdForScope handles a job deferred for a missing scope: it counts the refusal by
// scope, starts or extends the pause, and logs once per pause what to do.
func (w *Worker) holdForScope(d Decision, log *zap.Logger) {
	var se *auth0client.ScopeError
	if !errors.As(d.Err, &se) {
		return
	}
	for _, s := range se.Missing {
		if !slices.Contains(auth0client.RequiredScopes, s) {
			s = "other" // label values come from a closed set
		}
		w.metrics.scopeErrors.WithLabelValues(s).Inc()
	}
	if w.scope.refused(time.Now(), se) {
		log.Error("Auth0 refused a call: the mailproof application lacks a Management API scope. Grant it in the Auth0 dashboard: "+
			"Applications > APIs > Auth0 Management API > Machine to Machine Applications; until then the worker takes no job and "+
			"tries again after each pause, and the job waits without spending its attempts",
			zap.Strings("scope", se.Missing), zap.Duration("pause", w.scope.pause), zap.Error(d.Err))
	}
}
