package auth0test

import (
	"cmp"
	"net/http"
	"strings"
	"time"
)

// Fault changes how the tenant answers matching requests. A request meets at
// most one fault: the first injected one that matches. Latency is applied
// first, then Hang, Drop or Status; a Latency-only fault lets the request
// proceed normally afterwards. Faults do not spend the rate-limit buckets;
// their answers carry the headers of the bucket the request would spend.
type Fault struct {
	// Method matches the request method; empty matches any.
	Method string
	// PathPrefix matches the start of the decoded path; empty matches any.
	PathPrefix string
	// Status answers with this status and an Auth0-shaped error body (the
	// rate-limit body and headers for 429).
	Status int
	// Latency delays the answer.
	Latency time.Duration
	// Hang never answers: the request is held until the client gives up or
	// the tenant closes.
	Hang bool
	// Drop aborts the connection (the HTTP/2 stream) without an answer.
	Drop bool
	// Times limits how many requests the fault applies to; 0 means until
	// ClearFaults.
	Times int
	// AfterWrite handles the request first, so whatever it changes lands,
	// and applies Latency and Drop to its answer only: the client that gives
	// up, or loses the connection, cannot tell whether its write happened.
	// The call record keeps the status the tenant answered with.
	AfterWrite bool
}

type activeFault struct {
	Fault
	left int // remaining uses when Times > 0
}

// Inject adds a fault after the ones already active.
func (t *Tenant) Inject(f Fault) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.faults = append(t.faults, &activeFault{Fault: f, left: f.Times})
}

// ClearFaults removes every active fault.
func (t *Tenant) ClearFaults() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.faults = nil
}

// takeFault returns the fault for a request, counting one use of it.
func (t *Tenant) takeFault(method, path string) (Fault, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i, f := range t.faults {
		if (f.Method != "" && f.Method != method) || !strings.HasPrefix(path, f.PathPrefix) {
			continue
		}
		if f.Times > 0 {
			f.left--
			if f.left == 0 {
				t.faults = append(t.faults[:i:i], t.faults[i+1:]...)
			}
		}
		return f.Fault, true
	}
	return Fault{}, false
}

// applyFault carries out f; it reports whether the request was answered (or
// abandoned) so normal handling must stop.
func (t *Tenant) applyFault(w http.ResponseWriter, r *http.Request, f Fault) bool {
	if f.Latency > 0 {
		timer := time.NewTimer(f.Latency)
		defer timer.Stop()
		select {
		case <-timer.C:
		case <-r.Context().Done():
			return true
		case <-t.closed:
			panic(http.ErrAbortHandler)
		}
	}
	switch {
	case f.Hang:
		t.hanging.Add(1)
		defer t.hanging.Add(-1)
		select {
		case <-r.Context().Done():
		case <-t.closed:
			// Returning would send an empty 200; a closing tenant
			// answers nothing at all.
			panic(http.ErrAbortHandler)
		}
		return true
	case f.Drop:
		// ErrAbortHandler closes an HTTP/1 connection, or resets an HTTP/2
		// stream, without an answer and without the server logging a panic.
		panic(http.ErrAbortHandler)
	case f.Status != 0:
		t.writeFaultStatus(w, r, f.Status)
		return true
	}
	return false
}

func (t *Tenant) writeFaultStatus(w http.ResponseWriter, r *http.Request, status int) {
	t.mu.Lock()
	st := t.limits.peek(r.Method, r.URL.Path, t.now())
	t.mu.Unlock()
	if status == http.StatusTooManyRequests {
		// An injected 429 means the bucket is empty as far as the client
		// can tell: nothing remains until at least the next second.
		st.remaining = 0
		st.reset = later(st.reset, t.now().Add(time.Second))
	}
	if st.limit > 0 {
		st.setHeaders(w.Header())
	}
	switch {
	case !strings.HasPrefix(r.URL.Path, apiPrefix) && status == http.StatusTooManyRequests:
		writeAuthRateLimited(w)
	case !strings.HasPrefix(r.URL.Path, apiPrefix):
		writeOAuthError(w, status, "server_error", http.StatusText(status))
	case status == http.StatusTooManyRequests:
		writeRateLimited(w)
	default:
		writeAPIError(w, status, http.StatusText(status), "")
	}
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// serveAfterWrite handles the request through handle, then holds back or drops
// its answer as f says (an AfterWrite fault).
func (t *Tenant) serveAfterWrite(sw *statusWriter, r *http.Request, f Fault, handle func(http.ResponseWriter)) {
	held := &heldResponse{header: http.Header{}}
	handle(held)
	// The record shows what the tenant did, even if the answer never leaves.
	sw.status = cmp.Or(held.status, http.StatusOK)
	if f.Latency > 0 {
		timer := time.NewTimer(f.Latency)
		defer timer.Stop()
		select {
		case <-timer.C:
		case <-r.Context().Done():
			return
		case <-t.closed:
			panic(http.ErrAbortHandler)
		}
	}
	if f.Drop {
		panic(http.ErrAbortHandler)
	}
	held.sendTo(sw.ResponseWriter)
}
