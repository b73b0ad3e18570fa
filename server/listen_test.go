package server

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap/zaptest"
)

// serveListeners serves a /ping route through listeners and serveAll, the way Run does,
// with cfg built by LoadConfig from validEnv plus set, until the test ends. It returns
// the main listener's address.
func serveListeners(t *testing.T, set map[string]string) string {
	t.Helper()
	env := validEnv()
	for k, v := range set {
		env[k] = v
	}
	cfg, err := LoadConfig(getenvFrom(env))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Listen, cfg.OpsListen = "127.0.0.1:0", "127.0.0.1:0"
	log := zaptest.NewLogger(t)
	m := newHTTPMetrics(prometheus.NewRegistry())
	mainE, opsE := newMainEcho(cfg, log, m), newEcho("ops", 64<<10, log, m)
	mainE.GET("/ping", func(c echo.Context) error { return c.String(http.StatusOK, "pong") })
	mainLn, opsLn, err := listeners(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- serveAll(ctx, cfg, log, mainE, opsE, mainLn, opsLn, func(context.Context) error { return nil })
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serveAll: %v", err)
		}
	})
	return mainLn.Addr().String()
}

// conn is one keep-alive client connection, plain or TLS.
type conn struct {
	net.Conn
	r *bufio.Reader
}

func dial(t *testing.T, addr string, useTLS bool) *conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	if useTLS {
		// The handshake needs the server to have accepted the connection, so it runs
		// with the first request, not here.
		c = tls.Client(c, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // a test's own certificate
	}
	t.Cleanup(func() { _ = c.Close() })
	return &conn{Conn: c, r: bufio.NewReader(c)}
}

// ping sends one request and reads its answer.
func (c *conn) ping() error {
	if _, err := io.WriteString(c, "GET /ping HTTP/1.1\r\nHost: mailproof\r\n\r\n"); err != nil {
		return err
	}
	resp, err := http.ReadResponse(c.r, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return errors.New(resp.Status)
	}
	return nil
}

func TestMainListenerCapsConnections(t *testing.T) {
	const maxConns = 3
	for _, useTLS := range []bool{false, true} {
		name := map[bool]string{false: "plain", true: "tls"}[useTLS]
		t.Run(name, func(t *testing.T) {
			set := map[string]string{"MAILPROOF_MAX_CONNS": "3"}
			if useTLS {
				set["MAILPROOF_TLS_CERT_FILE"], set["MAILPROOF_TLS_KEY_FILE"] = selfSignedCert(t)
			}
			addr := serveListeners(t, set)
			held := make([]*conn, maxConns)
			for i := range held {
				held[i] = dial(t, addr, useTLS)
				if err := held[i].ping(); err != nil {
					t.Fatalf("%s: connection %d: %v", name, i+1, err)
				}
			}

			// Every slot is held by an idle keep-alive: one more is not served...
			extra := dial(t, addr, useTLS)
			answered := make(chan error, 1)
			go func() { answered <- extra.ping() }()
			select {
			case err := <-answered:
				t.Fatalf("%s: connection %d answered (%v) while %d were open, want it to wait", name, maxConns+1, err, maxConns)
			case <-time.After(500 * time.Millisecond):
			}
			// ...until one of them closes.
			held[0].Close()
			select {
			case err := <-answered:
				if err != nil {
					t.Fatalf("%s: connection %d after one closed: %v", name, maxConns+1, err)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("%s: connection %d still not served 10s after a slot freed", name, maxConns+1)
			}
			// The others are still served on their own connections.
			if err := held[1].ping(); err != nil {
				t.Errorf("%s: a held connection after the cap was reached: %v", name, err)
			}
		})
	}
}

func TestMainListenerClosesIdleConnections(t *testing.T) {
	addr := serveListeners(t, map[string]string{"MAILPROOF_IDLE_TIMEOUT": "1s"})
	c := dial(t, addr, false)
	if err := c.ping(); err != nil {
		t.Fatal(err)
	}
	// A generous bound: the point is that the server closes it, not exactly when.
	if err := c.SetReadDeadline(time.Now().Add(15 * time.Second)); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err := c.r.ReadByte()
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("idle connection still open after %s, want it closed after MAILPROOF_IDLE_TIMEOUT=1s", time.Since(start).Round(time.Millisecond))
	}
	if !errors.Is(err, io.EOF) {
		t.Fatalf("read on the idle connection: %v, want EOF (closed by the server)", err)
	}
}

// selfSignedCert writes a certificate and key for 127.0.0.1 and returns their paths.
func selfSignedCert(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}
