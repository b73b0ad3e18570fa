// Package handlers is mailproof's HTTP: the post-login webhook, the admin API, the ops
// endpoints and the status page. Each handler translates a request into calls on the
// packages that own the meaning (webhook checks the signature, event decodes the body,
// proof decides, store keeps) and their answers into HTTP; it declares the small
// interfaces it needs of them. Nothing in a request body is parsed before its signature
// has been checked.
//
// It never imports server.
package handlers
