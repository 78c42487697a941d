package hpo_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/hpo-dev/hpo/client_stubs/go/hpo"
	"github.com/hpo-dev/hpo/client_stubs/go/hpov1"
)

// testPKI is a CA with a server certificate (localhost, 127.0.0.1) and a client
// certificate signed by it, as PEM files in a folder.
type testPKI struct {
	ca, serverCert, serverKey, clientCert, clientKey string
}

func writePEM(t *testing.T, path, kind string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

func newPKI(t *testing.T, dir, name string) testPKI {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	serial := int64(1)
	newKey := func(path string) *ecdsa.PrivateKey {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		writePEM(t, path, "PRIVATE KEY", der)
		return key
	}
	template := func(cn string) *x509.Certificate {
		serial++
		return &x509.Certificate{
			SerialNumber: big.NewInt(serial),
			Subject:      pkix.Name{CommonName: cn},
			NotBefore:    time.Now().Add(-time.Hour),
			NotAfter:     time.Now().Add(24 * time.Hour),
		}
	}
	p := testPKI{
		ca:         filepath.Join(dir, "ca.pem"),
		serverCert: filepath.Join(dir, "server.pem"), serverKey: filepath.Join(dir, "server.key"),
		clientCert: filepath.Join(dir, "client.pem"), clientKey: filepath.Join(dir, "client.key"),
	}
	caKey := newKey(filepath.Join(dir, "ca.key"))
	caTmpl := template(name)
	caTmpl.IsCA, caTmpl.BasicConstraintsValid = true, true
	caTmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, p.ca, "CERTIFICATE", caDER)
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	leaf := func(certPath, keyPath, cn string, usage x509.ExtKeyUsage, dns []string, ips []net.IP) {
		key := newKey(keyPath)
		tmpl := template(cn)
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{usage}
		tmpl.DNSNames, tmpl.IPAddresses = dns, ips
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		writePEM(t, certPath, "CERTIFICATE", der)
	}
	leaf(p.serverCert, p.serverKey, "localhost", x509.ExtKeyUsageServerAuth,
		[]string{"localhost"}, []net.IP{net.ParseIP("127.0.0.1")})
	leaf(p.clientCert, p.clientKey, name+" client", x509.ExtKeyUsageClientAuth, nil, nil)
	return p
}

func dialWith(t *testing.T, addr string, opts ...grpc.DialOption) *hpo.Client {
	t.Helper()
	c, err := hpo.Dial(addr, opts...)
	if err != nil {
		t.Fatal(err)
	}
	c.RetryTimeout = 0 // every failure here is a refusal or a handshake: nothing to retry
	t.Cleanup(func() { c.Close() })
	return c
}

// secureWorker runs three suggest/report pairs on the experiment with the settings of
// the environment ($HPO_TOKEN, $HPO_TLS_*), through hpo.DialOptionsFromEnv.
func secureWorker(t *testing.T, addr, experiment string) {
	t.Helper()
	opts, err := hpo.DialOptionsFromEnv()
	if err != nil {
		t.Fatalf("DialOptionsFromEnv: %v", err)
	}
	c := dialWith(t, addr, opts...)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	w := &hpo.Worker{Client: c, Experiment: experiment, WorkerID: "go-secure", MaxTrials: 3}
	n, err := w.Run(ctx, func(ctx context.Context, tr *hpo.Trial) (hpo.Metrics, error) {
		x := tr.Float("x")
		return hpo.Metrics{"loss": x * x}, nil
	})
	if err != nil || n != 3 {
		t.Fatalf("worker over TLS with a token: ran %d trials, err %v", n, err)
	}
	done, err := c.Trials(ctx, experiment, hpov1.Trial_COMPLETED)
	if err != nil || len(done) < 3 {
		t.Fatalf("completed trials: %d, err %v", len(done), err)
	}
}

// TestSecurity runs the client against a server with mutual TLS and bearer tokens.
// client_stubs/python/tests/test_security.py runs it against its own server, with
// certificates made by openssl, by setting $HPO_SECURITY_TEST_ADDR, the experiment
// ($HPO_SECURITY_TEST_EXPERIMENT) and $HPO_TOKEN (a worker's), $HPO_TLS_*; otherwise it
// starts a server of its own with certificates made here.
func TestSecurity(t *testing.T) {
	if addr := os.Getenv("HPO_SECURITY_TEST_ADDR"); addr != "" {
		secureWorker(t, addr, os.Getenv("HPO_SECURITY_TEST_EXPERIMENT"))
		return
	}
	for _, f := range []string{"tls_cert", "tls_key", "tls_client_ca", "auth_tokens"} {
		if !hasFlag(f) {
			t.Fatalf("this hpo-server has no --%s flag (build a newer one, or set HPO_SERVER_BIN)", f)
		}
	}
	dir := t.TempDir()
	pki := newPKI(t, filepath.Join(dir, "pki"), "hpo test CA")
	other := newPKI(t, filepath.Join(dir, "other"), "another CA")
	tokens := filepath.Join(dir, "tokens")
	if err := os.WriteFile(tokens, []byte("# token,name,role\n"+
		"admin-secret-1,alice,admin\nworker-secret-1,bob,worker\nread-secret-1,carol,read\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := startServerArgs(dir, 0, "--tls_cert="+pki.serverCert, "--tls_key="+pki.serverKey,
		"--tls_client_ca="+pki.ca, "--auth_tokens="+tokens)
	if err != nil {
		t.Fatal(err)
	}
	defer s.stop()
	addr := s.addr()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	mtls, err := hpo.WithTLS(pki.ca, pki.clientCert, pki.clientKey)
	if err != nil {
		t.Fatal(err)
	}
	admin := dialWith(t, addr, mtls, hpo.WithToken("admin-secret-1\n"))
	name := newName(t)
	if _, err := admin.CreateExperiment(ctx, &hpov1.Experiment{
		Name:       name,
		Parameters: []*hpov1.Parameter{hpo.Uniform("x", -1, 1)},
		Objectives: []*hpov1.Objective{hpo.Minimize("loss")},
	}); err != nil {
		t.Fatalf("CreateExperiment as admin over mutual TLS: %v", err)
	}

	t.Run("worker from the environment", func(t *testing.T) {
		t.Setenv(hpo.EnvToken, "worker-secret-1")
		t.Setenv(hpo.EnvTLSCA, pki.ca)
		t.Setenv(hpo.EnvTLSCert, pki.clientCert)
		t.Setenv(hpo.EnvTLSKey, pki.clientKey)
		secureWorker(t, addr, name)
	})

	t.Run("refusals", func(t *testing.T) {
		worker := dialWith(t, addr, mtls, hpo.WithToken("worker-secret-1"))
		if err := worker.Delete(ctx, name); !hpo.IsPermissionDenied(err) {
			t.Errorf("Delete with a worker token: want PERMISSION_DENIED, got %v", err)
		} else {
			t.Logf("Delete with a worker token: %v", err)
		}
		reader := dialWith(t, addr, mtls, hpo.WithToken("read-secret-1"))
		if _, err := reader.Suggest(ctx, name, "r"); !hpo.IsPermissionDenied(err) {
			t.Errorf("Suggest with a read token: want PERMISSION_DENIED, got %v", err)
		}
		if _, err := reader.GetExperiment(ctx, name); err != nil {
			t.Errorf("GetExperiment with a read token: %v", err)
		}
		none := dialWith(t, addr, mtls)
		if _, err := none.GetExperiment(ctx, name); !hpo.IsUnauthenticated(err) {
			t.Errorf("no token: want UNAUTHENTICATED, got %v", err)
		} else {
			t.Logf("no token: %v", err)
		}
		wrong := dialWith(t, addr, mtls, hpo.WithToken("wrong-secret-42"))
		_, err := wrong.GetExperiment(ctx, name)
		if !hpo.IsUnauthenticated(err) {
			t.Errorf("a wrong token: want UNAUTHENTICATED, got %v", err)
		}
		if err != nil && strings.Contains(err.Error(), "wrong-secret-42") {
			t.Errorf("the error shows the token: %v", err)
		}
		t.Logf("a wrong token: %v", err)
		bad := dialWith(t, addr, mtls, hpo.WithToken("two words"))
		_, err = bad.GetExperiment(ctx, name)
		if !hpo.IsUnauthenticated(err) || strings.Contains(err.Error(), "two words") {
			t.Errorf("a token with a space: want UNAUTHENTICATED without the token, got %v", err)
		}
	})

	t.Run("TLS", func(t *testing.T) {
		token := hpo.WithToken("admin-secret-1")
		plain := dialWith(t, addr, token)
		if _, err := plain.GetExperiment(ctx, name); err == nil {
			t.Error("a plaintext client got an answer from the TLS port")
		} else {
			t.Logf("plaintext: %v", err)
		}
		noCert, err := hpo.WithTLS(pki.ca, "", "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := dialWith(t, addr, noCert, token).GetExperiment(ctx, name); err == nil {
			t.Error("a client without a certificate got an answer under --tls_client_ca")
		} else {
			t.Logf("no client certificate: %v", err)
		}
		otherCert, err := hpo.WithTLS(pki.ca, other.clientCert, other.clientKey)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := dialWith(t, addr, otherCert, token).GetExperiment(ctx, name); err == nil {
			t.Error("a client certificate from another CA was accepted")
		} else {
			t.Logf("a client certificate from another CA: %v", err)
		}
		otherCA, err := hpo.WithTLS(other.ca, pki.clientCert, pki.clientKey)
		if err != nil {
			t.Fatal(err)
		}
		c := dialWith(t, addr, otherCA, token)
		c.RetryTimeout = time.Minute // a failed handshake must not be retried anyway
		if _, err := c.GetExperiment(ctx, name); err == nil {
			t.Error("a server certificate from another CA was accepted")
		} else if !strings.Contains(strings.ToLower(hpo.Message(err)), "handshake") {
			t.Errorf("a server certificate from another CA: want a handshake error, got %v", err)
		}
	})

	t.Run("settings errors", func(t *testing.T) {
		missing := filepath.Join(dir, "no-such-ca.pem")
		if _, err := hpo.WithTLS(missing, "", ""); err == nil || !strings.Contains(err.Error(), missing) {
			t.Errorf("an unreadable CA file: want an error naming it, got %v", err)
		}
		if _, err := hpo.WithTLS(pki.ca, pki.clientCert, ""); err == nil || !strings.Contains(err.Error(), "keyFile") {
			t.Errorf("a certificate without its key: want an error naming keyFile, got %v", err)
		}
		if _, err := hpo.WithTLS(tokens, "", ""); err == nil || !strings.Contains(err.Error(), tokens) {
			t.Errorf("a CA file that is not PEM: want an error naming it, got %v", err)
		}
		t.Setenv(hpo.EnvTLSCA, "")
		t.Setenv(hpo.EnvTLSCert, pki.clientCert)
		t.Setenv(hpo.EnvTLSKey, "")
		if _, err := hpo.DialOptionsFromEnv(); err == nil || !strings.Contains(err.Error(), "HPO_TLS_KEY") {
			t.Errorf("$HPO_TLS_CERT without $HPO_TLS_KEY: want an error naming HPO_TLS_KEY, got %v", err)
		}
		t.Setenv(hpo.EnvTLSCert, "")
		t.Setenv(hpo.EnvToken, "")
		if opts, err := hpo.DialOptionsFromEnv(); err != nil || len(opts) != 0 {
			t.Errorf("an empty environment: want no options, got %d, %v", len(opts), err)
		}
	})
}
