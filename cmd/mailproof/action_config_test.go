package main

import (
	"strings"
	"testing"
)

func TestActionReceiverURL(t *testing.T) {
	cases := []struct {
		name, in, want, wantErr string
	}{
		{name: "bare host", in: "https://mailproof.example.com", want: "https://mailproof.example.com/v1/events/post-login"},
		{name: "trailing slash", in: "https://mailproof.example.com/", want: "https://mailproof.example.com/v1/events/post-login"},
		{name: "full path kept", in: "https://mailproof.example.com/v1/events/post-login", want: "https://mailproof.example.com/v1/events/post-login"},
		{name: "behind a path prefix", in: "https://id.example.com:8443/mailproof/", want: "https://id.example.com:8443/mailproof/v1/events/post-login"},
		{name: "http on 127.0.0.1", in: "http://127.0.0.1:8080", want: "http://127.0.0.1:8080/v1/events/post-login"},
		{name: "http on localhost", in: "http://localhost:8080", want: "http://localhost:8080/v1/events/post-login"},
		{name: "http on ::1", in: "http://[::1]:8080", want: "http://[::1]:8080/v1/events/post-login"},
		{name: "http on a public host", in: "http://mailproof.example.com", wantErr: "must use https://"},
		{name: "http on a name that looks local", in: "http://localhost.example.com", wantErr: "must use https://"},
		{name: "no scheme", in: "mailproof.example.com", wantErr: "absolute URL"},
		{name: "unparsable, not echoed", in: "https://user:p%zz@mailproof.example.com", wantErr: "absolute URL"},
		{name: "other scheme", in: "ftp://mailproof.example.com", wantErr: "want https://"},
		{name: "credentials in the URL", in: "https://user:pw@mailproof.example.com", wantErr: "credentials"},
		{name: "query", in: "https://mailproof.example.com/?a=1", wantErr: "query"},
		{name: "empty", in: "", wantErr: "--url is required"},
	}
	for _, tc := range cases {
		got, err := receiverURL(tc.in)
		switch {
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%s: receiverURL(%q) = %q, %v; want an error mentioning %q", tc.name, tc.in, got, err, tc.wantErr)
		case tc.wantErr == "" && (err != nil || got != tc.want):
			t.Errorf("%s: receiverURL(%q) = %q, %v; want %q", tc.name, tc.in, got, err, tc.want)
		}
	}
}
