package deploy

import (
	"bytes"
	"errors"
	"io"

	"go.yaml.in/yaml/v3"
)

// parseYAML returns one value per document: map[string]any, []any, string, int, float64,
// bool or nil. Duplicate keys and tabs are errors in yaml/v3, as in Kubernetes.
func parseYAML(src string) ([]any, error) {
	dec := yaml.NewDecoder(bytes.NewReader([]byte(src)))
	var docs []any
	for {
		var v any
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		if v != nil {
			docs = append(docs, v)
		}
	}
}
