package proof

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/mailproof/mailproof/auth0client"
	"github.com/mailproof/mailproof/store"
)

// sweepPrefix starts every sweep job's payload. A webhook job's payload is always
// written by event.PostLogin.AppendJobPayload and starts with {"type":, so neither
// kind can pass for the other whatever an event says.
var sweepPrefix = []byte(`{"reconcile":`)

// sweepFind is a user as the sweep found it: the evidence a sweep job carries in place
// of a post-login event.
type sweepFind struct {
	Run               string    `json:"run"`
	Path              string    `json:"path"` // search or export
	UserID            string    `json:"user_id"`
	Email             string    `json:"email"`
	EmailVerified     bool      `json:"email_verified"`
	Connection        string    `json:"connection"`
	Database          bool      `json:"database"`
	LastLogin         time.Time `json:"last_login,omitzero"`
	LastPasswordReset time.Time `json:"last_password_reset,omitzero"`
	UpdatedAt         time.Time `json:"updated_at,omitzero"`
}

func newSweepFind(run, path string, u auth0client.User) sweepFind {
	return sweepFind{
		Run: run, Path: path, UserID: u.ID, Email: u.Email, EmailVerified: u.EmailVerified,
		Connection: u.Connection, Database: u.DatabaseConnection,
		LastLogin: u.LastLogin, LastPasswordReset: u.LastPasswordReset, UpdatedAt: u.UpdatedAt,
	}
}

func (f sweepFind) user() auth0client.User {
	return auth0client.User{
		ID: f.UserID, Email: f.Email, EmailVerified: f.EmailVerified, Connection: f.Connection,
		DatabaseConnection: f.Database, LastLogin: f.LastLogin, LastPasswordReset: f.LastPasswordReset, UpdatedAt: f.UpdatedAt,
	}
}

// webhookID is the job's identity: one per user and state of the user, so the same
// find in two overlapping runs (or two replicas) is queued once, while a later login
// (a new last_login) or change (updated_at) is a new job.
func (f sweepFind) webhookID() string {
	stamp := max(f.LastLogin.UnixMilli(), f.UpdatedAt.UnixMilli(), f.LastPasswordReset.UnixMilli())
	return store.SourceReconcile + f.UserID + ":" + strconv.FormatInt(stamp, 10)
}

func (f sweepFind) payload() ([]byte, error) {
	return json.Marshal(struct {
		Reconcile sweepFind `json:"reconcile"`
	}{f})
}

func decodeSweepFind(payload []byte) (sweepFind, error) {
	var v struct {
		Reconcile *sweepFind `json:"reconcile"`
	}
	if err := json.Unmarshal(payload, &v); err != nil {
		return sweepFind{}, err
	}
	if v.Reconcile == nil || v.Reconcile.UserID == "" {
		return sweepFind{}, errors.New("no user in the sweep job")
	}
	return *v.Reconcile, nil
}

// isSweepJob tells a job the sweep queued from a webhook job.
func isSweepJob(job store.Job) bool { return bytes.HasPrefix(job.Payload, sweepPrefix) }

// processSweep is Process for a job the sweep queued: the same path as a login's, with
// what the sweep found in place of the event. The find is judged first (the terminal
// rules close the record on it, as they would on an event); then the claim, the fresh
// read (EvaluateUser, then the reset-and-login evidence again, on data that cannot
// lag), the PATCH and its answer check, exactly as for a login. A webhook job and a
// sweep job of one user share the claim, so only one of them PATCHes.
func (p *Processor) processSweep(ctx context.Context, job store.Job) Decision {
	f, err := decodeSweepFind(job.Payload)
	if err != nil {
		return Decision{Action: DeadLetter, Err: fmt.Errorf("decode sweep job: %w", err)}
	}
	if f.UserID != job.UserID {
		return Decision{Action: DeadLetter, Err: fmt.Errorf("sweep job for %s carries user %s", job.UserID, f.UserID)}
	}
	counted := &countingUsers{Users: p.Users}
	cp := *p
	cp.Users = counted
	d := cp.judgeSweep(ctx, job, f)
	d.Run, d.Calls = f.Run, int(counted.calls.Load())
	return d
}

func (p *Processor) judgeSweep(ctx context.Context, job store.Job, f sweepFind) Decision {
	u := f.user()
	rec, d, ok := p.pendingRecord(ctx, job)
	if !ok {
		return d
	}
	if rule := EvaluateSweep(u, rec); rule != nil {
		return Decision{Action: Ack, Outcome: rule.Outcome, Close: rule.Terminal}
	}
	claimed, d, ok := p.claim(ctx, job)
	if !ok {
		return d
	}
	if rule := EvaluateSweep(u, claimed); rule != nil {
		return Decision{Action: Ack, Outcome: rule.Outcome, Close: rule.Terminal}
	}
	return p.flip(ctx, job, claimed, rec.Status == store.StatusVerifying, sweepEvidence)
}

// countingUsers counts the Management API calls of one job, for the sweep's summary.
type countingUsers struct {
	Users
	calls atomic.Int64
}

func (c *countingUsers) GetUser(ctx context.Context, id string) (auth0client.User, error) {
	c.calls.Add(1)
	return c.Users.GetUser(ctx, id)
}

func (c *countingUsers) VerifyEmail(ctx context.Context, id string) (auth0client.User, error) {
	c.calls.Add(1)
	return c.Users.VerifyEmail(ctx, id)
}

func (c *countingUsers) UnverifyEmail(ctx context.Context, id string) (auth0client.User, error) {
	c.calls.Add(1)
	return c.Users.UnverifyEmail(ctx, id)
}
