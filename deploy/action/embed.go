// Package action carries mailproof's Auth0 post-login Action. The JavaScript in
// post-login.js is the product; this package embeds it so `mailproof action deploy`
// uploads exactly the code that `node --test` checked, with nothing fetched at run time.
package action

import _ "embed" // for go:embed

// Code is the source of post-login.js, the only file uploaded to Auth0: the tests and
// fake-receiver.js beside it stay out of the tenant.
//
//go:embed post-login.js
var Code string
