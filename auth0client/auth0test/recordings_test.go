package auth0test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// requireRecordingsEnv turns a missing recording into a test failure (CI
// sets it after go mod download of go-auth0) instead of a skip.
const requireRecordingsEnv = "MAILPROOF_TEST_REQUIRE_RECORDINGS"

// recordingsDir is where go-auth0 v1.45.0 keeps its go-vcr recordings of
// real tenant traffic, inside its module.
const recordingsDir = "github.com/auth0/go-auth0@v1.45.0/test/data/recordings"

// recording is the part of a go-vcr cassette the fidelity test reads.
type recording struct {
	Interactions []interaction `yaml:"interactions"`
}

type interaction struct {
	Request struct {
		URL     string              `yaml:"url"`
		Method  string              `yaml:"method"`
		Body    string              `yaml:"body"`
		Headers map[string][]string `yaml:"headers"`
	} `yaml:"request"`
	Response struct {
		Body    string              `yaml:"body"`
		Code    int                 `yaml:"code"`
		Headers map[string][]string `yaml:"headers"`
	} `yaml:"response"`
}

// loadRecording reads one of go-auth0's recordings from the module cache.
// Where the module is absent the test is skipped, or fails when
// MAILPROOF_TEST_REQUIRE_RECORDINGS=1.
func loadRecording(t *testing.T, name string) recording {
	t.Helper()
	missing := t.Skipf
	if os.Getenv(requireRecordingsEnv) == "1" {
		missing = t.Fatalf
	}
	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		missing("go env GOMODCACHE: %v", err)
		return recording{}
	}
	path := filepath.Join(strings.TrimSpace(string(out)), recordingsDir, name)
	raw, err := os.ReadFile(path)
	if err != nil {
		missing("recording not available (go mod download github.com/auth0/go-auth0@v1.45.0): %v", err)
		return recording{}
	}
	var r recording
	if err := yaml.Unmarshal(raw, &r); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return r
}

// shapeAt describes the JSON value at path inside body: an object's keys
// in the order written, "array", a scalar's type, or "absent". A path is
// dot-separated steps, each an object key, an array index [n], or both
// (users[0].identities[0], [0] for a top-level array); "" is the body.
func shapeAt(body []byte, path string) []string {
	raw := json.RawMessage(bytes.TrimSpace(body))
	if path != "" {
		for _, step := range strings.Split(path, ".") {
			key, index, _ := strings.Cut(step, "[")
			if key != "" {
				var obj map[string]json.RawMessage
				if json.Unmarshal(raw, &obj) != nil {
					return []string{"absent"}
				}
				raw = obj[key]
			}
			if index != "" {
				n, err := strconv.Atoi(strings.TrimSuffix(index, "]"))
				var arr []json.RawMessage
				if err != nil || json.Unmarshal(raw, &arr) != nil || n >= len(arr) {
					return []string{"absent"}
				}
				raw = arr[n]
			}
		}
	}
	return shape(raw)
}

// shape is the keys of a JSON object in the order written, or the kind of
// any other value.
func shape(raw json.RawMessage) []string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return []string{"absent"}
	}
	switch raw[0] {
	case '[':
		return []string{"array"}
	case '"':
		return []string{"string"}
	case 'n':
		return []string{"null"}
	case 't', 'f':
		return []string{"boolean"}
	case '{':
	default:
		return []string{"number"}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil {
		return []string{"invalid"}
	}
	keys := []string{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return []string{"invalid"}
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return []string{"invalid"}
		}
	}
	return keys
}

// pairIDs walks a recorded answer and the emulator's answer to the same
// request side by side and returns, for every id field (id, user_id,
// connection_id) whose values differ, the recorded value → the emulator's,
// so later requests of the recording can name the emulator's objects.
func pairIDs(recorded, ours []byte) map[string]string {
	ids := map[string]string{}
	var walk func(r, o any)
	walk = func(r, o any) {
		switch rv := r.(type) {
		case map[string]any:
			ov, _ := o.(map[string]any)
			for k, v := range rv {
				rs, rok := v.(string)
				ostr, ook := ov[k].(string)
				switch {
				case rok && ook && rs != "" && rs != ostr && (k == "id" || k == "user_id" || k == "connection_id"):
					ids[rs] = ostr
				case !rok:
					walk(v, ov[k])
				}
			}
		case []any:
			ov, _ := o.([]any)
			for i := range min(len(rv), len(ov)) {
				walk(rv[i], ov[i])
			}
		}
	}
	var r, o any
	if json.Unmarshal(recorded, &r) == nil && json.Unmarshal(ours, &o) == nil {
		walk(r, o)
	}
	return ids
}

// compare lists how the emulator's answer differs from the recorded one:
// the status; the content type, when there is a body; a plain body whole;
// a JSON error body whole; otherwise the fields at the top and at paths,
// in order unless ordered is false.
func compare(file, call string, in interaction, status int, contentType string, body []byte, paths []string, ordered bool) []found {
	var out []found
	add := func(what, delta, detail string) {
		out = append(out, found{difference{file, call, what, delta}, fmt.Sprintf("%s: %s: %s: %s", file, call, what, detail)})
	}
	want := in.Response
	if status != want.Code {
		add("status", fmt.Sprintf("%d, recorded %d", status, want.Code),
			fmt.Sprintf("%d (%.200s), recorded %d (%.200s)", status, body, want.Code, want.Body))
		return out
	}
	recorded := []byte(strings.TrimSpace(want.Body))
	if len(recorded) == 0 {
		return out
	}
	if ct := want.Headers["Content-Type"]; len(ct) > 0 && ct[0] != contentType {
		d := fmt.Sprintf("%q, recorded %q", contentType, ct[0])
		add("content type", d, d)
	}
	if !json.Valid(recorded) {
		if got := bytes.TrimSpace(body); !bytes.Equal(got, recorded) {
			d := fmt.Sprintf("%q, recorded %q", got, recorded)
			add("body", d, d)
		}
		return out
	}
	if status >= 400 {
		var got, rec map[string]any
		_ = json.Unmarshal(body, &got)
		_ = json.Unmarshal(recorded, &rec)
		if !reflect.DeepEqual(got, rec) {
			d := fmt.Sprintf("%s, recorded %s", body, recorded)
			add("error body", d, d)
		}
		return out
	}
	for _, path := range append([]string{""}, paths...) {
		got, rec := shapeAt(body, path), shapeAt(recorded, path)
		if !ordered {
			got, rec = sorted(got), sorted(rec)
		}
		if !slices.Equal(got, rec) {
			what := "fields"
			if path != "" {
				what = "fields of " + path
			}
			add(what, fieldsDelta(got, rec), fmt.Sprintf("%v, recorded %v", got, rec))
		}
	}
	return out
}

// fieldsDelta says how two different field lists differ: "absent" (ours
// has no such object), "not recorded", or the fields only ours has (+)
// and only the recording has (-), then "order" when the fields both have
// come in another order.
func fieldsDelta(got, rec []string) string {
	switch {
	case slices.Equal(got, []string{"absent"}):
		return "absent"
	case slices.Equal(rec, []string{"absent"}):
		return "not recorded"
	}
	var delta []string
	for _, k := range got {
		if !slices.Contains(rec, k) {
			delta = append(delta, "+"+k)
		}
	}
	for _, k := range rec {
		if !slices.Contains(got, k) {
			delta = append(delta, "-"+k)
		}
	}
	common := func(a, b []string) []string {
		return slices.DeleteFunc(slices.Clone(a), func(k string) bool { return !slices.Contains(b, k) })
	}
	if !slices.Equal(common(got, rec), common(rec, got)) {
		delta = append(delta, "order")
	}
	return strings.Join(delta, " ")
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}
