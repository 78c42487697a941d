package hpo

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"
)

// The environment variables DialOptionsFromEnv reads.
const (
	EnvToken   = "HPO_TOKEN"    // the bearer token
	EnvTLSCA   = "HPO_TLS_CA"   // PEM CA bundle that signed the server's certificate; turns TLS on
	EnvTLSCert = "HPO_TLS_CERT" // the client's PEM certificate (mutual TLS), with EnvTLSKey
	EnvTLSKey  = "HPO_TLS_KEY"  // its PEM private key
)

// bearerToken sends "authorization: Bearer TOKEN" with every call. It does not require
// transport security, so it works on plaintext connections too (where the token is
// readable by anyone who sees the traffic).
type bearerToken struct{ header string }

func (b bearerToken) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": b.header}, nil
}

// RequireTransportSecurity is false: a server on the local machine may take tokens
// over plaintext. Across a network, use TLS (WithTLS).
func (bearerToken) RequireTransportSecurity() bool { return false }

// String never shows the token.
func (bearerToken) String() string { return "hpo.bearerToken(<token>)" }

// checkToken refuses what cannot be sent as a header value; the message never holds
// the token.
func checkToken(token, from string) (string, error) {
	token = strings.TrimSpace(token) // a token read from a file keeps its newline
	for _, r := range token {
		if r <= ' ' || r > '~' {
			return "", fmt.Errorf("hpo: the token (%s) holds whitespace or characters outside printable ASCII", from)
		}
	}
	return token, nil
}

// WithToken sends token as the bearer token of every call ("authorization: Bearer
// TOKEN"), for a server started with --auth_tokens. It works over TLS and over
// plaintext: its credentials.PerRPCCredentials does not require transport security,
// since a server on the same machine may be reached without TLS. Over plaintext
// the token is visible to anyone who can see the traffic; across a network, add
// WithTLS. Surrounding whitespace is dropped; an empty token adds nothing. A token
// that cannot be a header value (inner whitespace, non-ASCII) makes every call fail
// with an error that does not show it.
func WithToken(token string) grpc.DialOption {
	token, err := checkToken(token, "WithToken")
	switch {
	case err != nil:
		return grpc.WithPerRPCCredentials(badToken{err})
	case token == "":
		return grpc.EmptyDialOption{}
	}
	return grpc.WithPerRPCCredentials(bearerToken{header: "Bearer " + token})
}

// badToken fails every call with the reason the token was refused.
type badToken struct{ err error }

func (b badToken) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return nil, status.Error(codes.Unauthenticated, b.err.Error())
}

func (badToken) RequireTransportSecurity() bool { return false }

// WithTLS makes the connection TLS. caFile is the PEM CA bundle that signed the
// server's certificate ("": the system's CAs); certFile and keyFile are the client's
// PEM certificate and private key, for a server started with --tls_client_ca (both or
// neither). The files are read now; an error names the file.
func WithTLS(caFile, certFile, keyFile string) (grpc.DialOption, error) {
	cfg, err := tlsConfig(caFile, certFile, keyFile, "caFile", "certFile", "keyFile")
	if err != nil {
		return nil, err
	}
	return grpc.WithTransportCredentials(credentials.NewTLS(cfg)), nil
}

func tlsConfig(caFile, certFile, keyFile, caName, certName, keyName string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("hpo: %s: %w", caName, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("hpo: %s %s: no PEM certificate in it", caName, caFile)
		}
		cfg.RootCAs = pool
	}
	switch {
	case certFile != "" && keyFile != "":
		pair, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("hpo: client certificate (%s %s, %s %s): %w", certName, certFile, keyName, keyFile, err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	case certFile != "":
		return nil, fmt.Errorf("hpo: %s is set but %s is not: a client certificate needs both", certName, keyName)
	case keyFile != "":
		return nil, fmt.Errorf("hpo: %s is set but %s is not: a client certificate needs both", keyName, certName)
	}
	return cfg, nil
}

// DialOptionsFromEnv returns the dial options the environment asks for: TLS when
// $HPO_TLS_CA or $HPO_TLS_CERT is set (with $HPO_TLS_CERT and $HPO_TLS_KEY as the
// client certificate; without $HPO_TLS_CA the system's CAs check the server), and the
// bearer token $HPO_TOKEN (WithToken). With none of them set it returns no options:
// Dial then connects in plaintext, as without it.
//
//	opts, err := hpo.DialOptionsFromEnv()
//	if err != nil { ... }
//	c, err := hpo.Dial("hpo.example.org:50051", opts...)
func DialOptionsFromEnv() ([]grpc.DialOption, error) {
	var opts []grpc.DialOption
	ca, cert, key := os.Getenv(EnvTLSCA), os.Getenv(EnvTLSCert), os.Getenv(EnvTLSKey)
	if ca != "" || cert != "" || key != "" {
		cfg, err := tlsConfig(ca, cert, key, "$"+EnvTLSCA, "$"+EnvTLSCert, "$"+EnvTLSKey)
		if err != nil {
			return nil, err
		}
		opts = append(opts, grpc.WithTransportCredentials(credentials.NewTLS(cfg)))
	}
	token, err := checkToken(os.Getenv(EnvToken), "$"+EnvToken)
	if err != nil {
		return nil, err
	}
	if token != "" {
		opts = append(opts, grpc.WithPerRPCCredentials(bearerToken{header: "Bearer " + token}))
	}
	return opts, nil
}

// IsUnauthenticated reports UNAUTHENTICATED: the server wants a bearer token and got
// none, or one it does not know. Not retried.
func IsUnauthenticated(err error) bool { return status.Code(err) == codes.Unauthenticated }

// IsPermissionDenied reports PERMISSION_DENIED: the token's role (read < worker <
// admin) does not allow the call. Not retried.
func IsPermissionDenied(err error) bool { return status.Code(err) == codes.PermissionDenied }

// handshakeFailed reports a failed TLS handshake: a setting to fix (the CA, the client
// certificate, TLS against a plaintext server), which retrying does not cure.
func handshakeFailed(err error) bool {
	return status.Code(err) == codes.Unavailable &&
		strings.Contains(strings.ToLower(status.Convert(err).Message()), "handshake failed")
}

var _ credentials.PerRPCCredentials = bearerToken{}
