package auth0test

import (
	"bytes"
	"compress/gzip"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// exportPrefix is where the tenant serves export files. At Auth0 the link
// is a signed CloudFront URL on another host
// (https://user-exports.auth0.com/job_…/TENANT.csv.gz?Expires=…&Key-Pair-Id=…&Signature=…);
// the emulator keeps the shape on its own host, outside /api/v2/: no
// bearer token, no rate limit.
const exportPrefix = "/user-exports/"

// exportLink signs a download URL for job valid until expires.
func (t *Tenant) exportLink(job *exportJob, expires time.Time) string {
	path := exportPrefix + job.id + "/" + exportFileName(job)
	exp := strconv.FormatInt(expires.Unix(), 10)
	v := url.Values{"Expires": {exp}, "Key-Pair-Id": {t.exportKeyID}, "Signature": {t.exportSignature(path, exp)}}
	return t.URL() + path + "?" + v.Encode()
}

// exportFileName is the tenant's name with the format's extension, as at
// Auth0.
func exportFileName(job *exportJob) string { return tenantName + "." + job.format + ".gz" }

func (t *Tenant) exportSignature(path, expires string) string {
	mac := hmac.New(sha256.New, t.exportKey)
	mac.Write([]byte(path + "\n" + expires))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// handleExportDownload serves a job's file, gzipped, to whoever holds a
// link that has not expired; anything else is CloudFront's 403.
func (t *Tenant) handleExportDownload(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	now := t.now()
	exp, err := strconv.ParseInt(q.Get("Expires"), 10, 64)
	if err != nil || q.Get("Key-Pair-Id") != t.exportKeyID || now.Unix() > exp ||
		!hmac.Equal([]byte(q.Get("Signature")), []byte(t.exportSignature(r.URL.Path, q.Get("Expires")))) {
		writeAccessDenied(w)
		return
	}
	job, ok := t.liveJob(r.PathValue("job"), now)
	if !ok || r.PathValue("file") != exportFileName(job) {
		writeAccessDenied(w)
		return
	}
	body, err := renderExport(job)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/gzip")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	_, _ = w.Write(body)
}

// writeAccessDenied answers as CloudFront does for a bad or expired signed
// URL.
func writeAccessDenied(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(http.StatusForbidden)
	_, _ = w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access denied</Message></Error>`))
}

// renderExport writes the job's users, gzipped: for json one object per
// line (NDJSON) holding the requested fields present on the user, in the
// order asked; for csv a header row and one row per user, strings escaped
// as Auth0 documents against CSV injection (a leading single quote, inner
// double quotes doubled, the whole wrapped in double quotes).
func renderExport(job *exportJob) ([]byte, error) {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	if job.format == "csv" {
		header := make([]string, len(job.fields))
		for i, f := range job.fields {
			header[i] = f.key()
		}
		cw := csv.NewWriter(gz)
		if err := cw.Write(header); err != nil {
			return nil, err
		}
		cw.Flush()
	}
	for _, u := range job.users {
		doc := searchDoc(u)
		var line []byte
		if job.format == "csv" {
			line = csvRow(doc, job.fields)
		} else {
			var err error
			if line, err = jsonLine(doc, job.fields); err != nil {
				return nil, err
			}
		}
		if _, err := gz.Write(append(line, '\n')); err != nil {
			return nil, err
		}
	}
	if err := gz.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func jsonLine(doc map[string]any, fields []exportField) ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for _, f := range fields {
		v, ok := exportValue(doc, f.Name)
		if !ok {
			continue
		}
		key, err := json.Marshal(f.key())
		if err != nil {
			return nil, err
		}
		val, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		b.Write(key)
		b.WriteByte(':')
		b.Write(val)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func csvRow(doc map[string]any, fields []exportField) []byte {
	cells := make([]string, len(fields))
	for i, f := range fields {
		v, ok := exportValue(doc, f.Name)
		if !ok {
			continue
		}
		switch v := v.(type) {
		case float64:
			cells[i] = strconv.FormatFloat(v, 'f', -1, 64)
		case bool:
			cells[i] = strconv.FormatBool(v)
		case string:
			cells[i] = `"'` + strings.ReplaceAll(v, `"`, `""`) + `"`
		default:
			raw, _ := json.Marshal(v)
			cells[i] = `"'` + strings.ReplaceAll(string(raw), `"`, `""`) + `"`
		}
	}
	return []byte(strings.Join(cells, ","))
}

// exportValue resolves a field name such as app_metadata.mailproof or
// identities[0].connection in a user's document.
func exportValue(doc map[string]any, name string) (any, bool) {
	var cur any = doc
	for seg := range strings.SplitSeq(name, ".") {
		key, rest, _ := strings.Cut(seg, "[")
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[key]; !ok || cur == nil {
			return nil, false
		}
		for rest != "" {
			idx, after, found := strings.Cut(rest, "]")
			n, err := strconv.Atoi(idx)
			a, isArray := cur.([]any)
			if !found || err != nil || !isArray || n < 0 || n >= len(a) {
				return nil, false
			}
			cur = a[n]
			rest = strings.TrimPrefix(after, "[")
		}
	}
	return cur, cur != nil
}
