// Package server is process wiring only: the configuration (config.go, one row per
// MAILPROOF_* variable), the Echo instances and their middleware, every route
// (routes.go), the listeners, running proof's worker beside them, and graceful
// shutdown. What a request or a job means lives in handlers and proof.
//
// Nothing imports server but the CLI.
package server
