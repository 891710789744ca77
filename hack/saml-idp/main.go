// Command saml-idp runs a real SAML identity provider (github.com/crewjam/saml's samlidp package,
// with its in-memory store) over HTTPS on a local address, for the operator's SAML preflight
// tests. Once it serves it prints one JSON line on stdout:
//
//	{"metadata":"https://127.0.0.1:PORT/metadata","entityID":"<same>","entryPoint":"https://127.0.0.1:PORT/sso",
//	 "certificate":"-----BEGIN CERTIFICATE-----\n...","port":PORT}
//
// and serves until SIGTERM or SIGINT (then it exits 0). Logs go to stderr.
//
// The metadata, the entity id (the library uses the metadata URL) and the SSO endpoint (what
// Infisical calls the entry point) are the library's. The signing certificate is what a test
// varies, so it comes from flags:
//
//	--tls-cert F --tls-key F          the HTTPS serving certificate and key (required)
//	--signing-cert F --signing-key F  the IdP's signing certificate and key, as given; or else
//	--not-before T --not-after T      a fresh self-signed RSA-2048 signing certificate valid from
//	                                  T to T (RFC 3339; default: an hour ago to a year from now),
//	                                  so a test can serve one that expired or expires in 10 days
package main

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/crewjam/saml/samlidp"
)

type options struct {
	listen      string
	tlsCert     string
	tlsKey      string
	signingCert string
	signingKey  string
	notBefore   string
	notAfter    string
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("saml-idp: ")
	var o options
	flag.StringVar(&o.listen, "listen", "127.0.0.1:0", "address to listen on (port 0: any free port)")
	flag.StringVar(&o.tlsCert, "tls-cert", "", "PEM certificate (chain) to serve HTTPS with (required)")
	flag.StringVar(&o.tlsKey, "tls-key", "", "PEM private key of --tls-cert (required)")
	flag.StringVar(&o.signingCert, "signing-cert", "", "PEM signing certificate; needs --signing-key (default: a generated one)")
	flag.StringVar(&o.signingKey, "signing-key", "", "PEM private key of --signing-cert")
	flag.StringVar(&o.notBefore, "not-before", "", "generated signing certificate: start of validity, RFC 3339 (default: an hour ago)")
	flag.StringVar(&o.notAfter, "not-after", "", "generated signing certificate: end of validity, RFC 3339 (default: a year from now)")
	flag.Parse()
	if flag.NArg() > 0 {
		log.Fatalf("unexpected arguments: %q", flag.Args())
	}
	if err := run(o); err != nil {
		log.Fatal(err)
	}
}

func run(o options) error {
	if o.tlsCert == "" || o.tlsKey == "" {
		return errors.New("--tls-cert and --tls-key are required (the IdP serves HTTPS only)")
	}
	serving, err := tls.LoadX509KeyPair(o.tlsCert, o.tlsKey)
	if err != nil {
		return fmt.Errorf("loading --tls-cert/--tls-key: %w", err)
	}
	cert, key, err := signingPair(o)
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return err
	}
	addr := ln.Addr().(*net.TCPAddr)
	base := url.URL{Scheme: "https", Host: net.JoinHostPort(addr.IP.String(), strconv.Itoa(addr.Port))}

	idp, err := samlidp.New(samlidp.Options{
		URL:         base,
		Key:         key,
		Certificate: cert,
		Store:       &samlidp.MemoryStore{},
	})
	if err != nil {
		return fmt.Errorf("samlidp: %w", err)
	}

	srv := &http.Server{
		Handler:           logRequests(idp),
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{serving}, MinVersion: tls.VersionTLS12},
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(os.Stderr, "saml-idp: ", 0),
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.ServeTLS(ln, "", "") }()

	metadata := idp.IDP.MetadataURL.String()
	ready, err := json.Marshal(struct {
		Metadata    string `json:"metadata"`
		EntityID    string `json:"entityID"`
		EntryPoint  string `json:"entryPoint"`
		Certificate string `json:"certificate"`
		Port        int    `json:"port"`
	}{
		Metadata: metadata,
		// samlidp publishes its metadata URL as the EntityDescriptor's entityID.
		EntityID:    metadata,
		EntryPoint:  idp.IDP.SSOURL.String(),
		Certificate: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})),
		Port:        addr.Port,
	})
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(os.Stdout, "%s\n", ready); err != nil {
		return err
	}
	log.Printf("serving %s (signing certificate valid %s to %s)", metadata,
		cert.NotBefore.UTC().Format(time.RFC3339), cert.NotAfter.UTC().Format(time.RFC3339))

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	select {
	case err := <-serveErr:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		log.Printf("shutdown: %v", err)
	}
	return nil
}

// signingPair is the IdP's signing certificate and key: from --signing-cert/--signing-key, or
// generated for the validity window the flags ask for.
func signingPair(o options) (*x509.Certificate, crypto.Signer, error) {
	if (o.signingCert == "") != (o.signingKey == "") {
		return nil, nil, errors.New("--signing-cert and --signing-key go together")
	}
	if o.signingCert != "" {
		if o.notBefore != "" || o.notAfter != "" {
			return nil, nil, errors.New("--not-before/--not-after apply to a generated signing certificate, not to --signing-cert")
		}
		pair, err := tls.LoadX509KeyPair(o.signingCert, o.signingKey)
		if err != nil {
			return nil, nil, fmt.Errorf("loading --signing-cert/--signing-key: %w", err)
		}
		signer, ok := pair.PrivateKey.(crypto.Signer)
		if !ok {
			return nil, nil, errors.New("--signing-key is not a signing key")
		}
		return pair.Leaf, signer, nil
	}

	now := time.Now()
	notBefore, err := timeFlag("--not-before", o.notBefore, now.Add(-time.Hour))
	if err != nil {
		return nil, nil, err
	}
	notAfter, err := timeFlag("--not-after", o.notAfter, now.AddDate(1, 0, 0))
	if err != nil {
		return nil, nil, err
	}
	if !notAfter.After(notBefore) {
		return nil, nil, fmt.Errorf("--not-after %s is not after --not-before %s", notAfter.Format(time.RFC3339), notBefore.Format(time.RFC3339))
	}
	// RSA: what SAML IdPs sign with, and what every service provider verifies.
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, err
	}
	template := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "saml-idp test signing certificate"},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, err
	}
	return cert, key, nil
}

// timeFlag parses an RFC 3339 flag value; an empty one is the default. Certificates hold whole
// seconds, so a fraction would make the served notAfter differ from the one asked for.
func timeFlag(name, value string, def time.Time) (time.Time, error) {
	if value == "" {
		return def.Truncate(time.Second), nil
	}
	t, err := time.Parse(time.RFC3339, value)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s %q: want RFC 3339, e.g. 2030-01-02T03:04:05Z: %w", name, value, err)
	}
	if t.Nanosecond() != 0 {
		return time.Time{}, fmt.Errorf("%s %q: certificates hold whole seconds", name, value)
	}
	return t, nil
}

// logRequests logs each request's method, path and status to stderr.
func logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		log.Printf("%s %s -> %d", r.Method, r.URL.Path, rec.status)
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}
