package auth0test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// certBundle is the emulator's TLS identity: a throwaway CA and a leaf it
// signed. A separate CA (rather than one self-signed leaf) keeps every TLS
// stack happy, Node and curl included, when they trust the CA file.
type certBundle struct {
	leaf  tls.Certificate
	caPEM []byte
	pool  *x509.CertPool
}

// newCertBundle generates ECDSA P-256 keys and certificates valid for the
// loopback names a local client may dial.
func newCertBundle(now time.Time) (certBundle, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return certBundle{}, fmt.Errorf("ca key: %w", err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "auth0test emulator CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return certBundle{}, fmt.Errorf("ca certificate: %w", err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return certBundle{}, fmt.Errorf("ca certificate: %w", err)
	}

	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return certBundle{}, fmt.Errorf("leaf key: %w", err)
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: "localhost"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &leafKey.PublicKey, caKey)
	if err != nil {
		return certBundle{}, fmt.Errorf("leaf certificate: %w", err)
	}

	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return certBundle{
		leaf:  tls.Certificate{Certificate: [][]byte{leafDER}, PrivateKey: leafKey},
		caPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		pool:  pool,
	}, nil
}

// writeCAFile stores the CA in a fresh temporary directory so another process
// (mailproof via MAILPROOF_AUTH0_CA_FILE, node via NODE_EXTRA_CA_CERTS) can
// trust the emulator. The caller removes the directory on Close.
func writeCAFile(caPEM []byte) (dir, file string, err error) {
	dir, err = os.MkdirTemp("", "auth0test-")
	if err != nil {
		return "", "", fmt.Errorf("ca dir: %w", err)
	}
	file = filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(file, caPEM, 0o600); err != nil {
		_ = os.RemoveAll(dir)
		return "", "", fmt.Errorf("ca file: %w", err)
	}
	return dir, file, nil
}

// serial returns a random 127-bit certificate serial number.
func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		// crypto/rand does not fail on supported platforms; a fixed serial
		// is harmless for a throwaway test certificate anyway.
		return big.NewInt(1)
	}
	return n
}
