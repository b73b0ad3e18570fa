package deploy

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestLayout holds the package graph the README's Layout section promises: each package
// imports only the mailproof packages below it, webhook and event only the standard
// library, and nothing but the CLI imports server.
func TestLayout(t *testing.T) {
	const module = "github.com/mailproof/mailproof/"
	allowed := map[string][]string{
		"webhook":               {},
		"event":                 {},
		"event/eventtest":       {},
		"store":                 {"event"},
		"auth0client":           {"event"},
		"proof":                 {"event", "store", "auth0client"},
		"handlers":              {"webhook", "event", "proof", "store", "auth0client"},
		"server":                {"webhook", "event", "proof", "store", "auth0client", "handlers"},
		"store/redistest":       {},
		"auth0client/auth0test": {},
	}
	stdOnly := map[string]bool{"webhook": true, "event": true, "event/eventtest": true}
	for pkg, ok := range allowed {
		files, err := filepath.Glob(filepath.Join("..", pkg, "*.go"))
		if err != nil || len(files) == 0 {
			t.Fatalf("%s: no Go files: %v", pkg, err)
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			parsed, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range parsed.Imports {
				path, _ := strconv.Unquote(imp.Path.Value)
				if own, ours := strings.CutPrefix(path, module); ours {
					if !slices.Contains(ok, own) {
						t.Errorf("%s imports %s, which it must not", f, own)
					}
					continue
				}
				if stdOnly[pkg] && strings.Contains(strings.Split(path, "/")[0], ".") {
					t.Errorf("%s imports %s: the package must use the standard library only", f, path)
				}
			}
		}
	}
}
