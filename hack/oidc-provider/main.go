// Command oidc-provider runs a real OpenID Connect provider (github.com/zitadel/oidc/v3/pkg/op,
// with the library's own in-memory example storage) on a local address, for the operator's IdP
// preflight tests. Once it serves it prints one JSON line on stdout:
//
//	{"issuer":"http://127.0.0.1:PORT","discovery":"<issuer>/.well-known/openid-configuration","jwks":"<issuer>/keys","port":PORT}
//
// and serves until SIGTERM or SIGINT (then it exits 0). Logs go to stderr.
//
// The discovery document, the JWKS and the endpoints are the library's. Each of the flags below
// changes one thing, to produce one failure the preflight must detect:
//
//	--alg ALG               signing key type and algorithm (RS256 by default; also RS384, RS512,
//	                        PS256, PS384, PS512, ES256, ES384, ES512, EdDSA)
//	--issuer-override URL   the provider's issuer is URL while it is served from the listen address
//	                        (all endpoints, jwks_uri included, still point at the listen address);
//	                        "{issuer}" in URL stands for the served issuer, e.g. "{issuer}/"
//	--jwks-status N         the JWKS endpoint answers status N (500: the library's own answer to a
//	                        key-set failure)
//	--jwks-empty            the JWKS endpoint answers {"keys":[]}
//	--insecure-endpoints    the authorization, token and userinfo endpoints are advertised as
//	                        http://idp.example.com/...
//	--tls-cert F --tls-key F  serve HTTPS with this certificate and key (plain HTTP otherwise)
package main

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/google/uuid"
	"golang.org/x/text/language"

	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// insecureHost is where --insecure-endpoints points the authorization, token and userinfo endpoints.
const insecureHost = "http://idp.example.com"

type options struct {
	listen            string
	issuerPath        string
	alg               string
	issuerOverride    string
	jwksStatus        int
	jwksEmpty         bool
	insecureEndpoints bool
	tlsCert           string
	tlsKey            string
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("oidc-provider: ")
	var o options
	flag.StringVar(&o.listen, "listen", "127.0.0.1:0", "address to listen on (port 0: any free port)")
	flag.StringVar(&o.issuerPath, "issuer-path", "/", "path of the issuer under the listen address")
	flag.StringVar(&o.alg, "alg", "RS256", "signing algorithm: RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512 or EdDSA")
	flag.StringVar(&o.issuerOverride, "issuer-override", "", "issuer the provider advertises and signs with, instead of the URL it is served from (\"{issuer}\" in it: that URL)")
	flag.IntVar(&o.jwksStatus, "jwks-status", 0, "HTTP status the JWKS endpoint answers with (e.g. 500)")
	flag.BoolVar(&o.jwksEmpty, "jwks-empty", false, `the JWKS endpoint answers {"keys":[]}`)
	flag.BoolVar(&o.insecureEndpoints, "insecure-endpoints", false, "advertise the authorization, token and userinfo endpoints as "+insecureHost+"/...")
	flag.StringVar(&o.tlsCert, "tls-cert", "", "PEM certificate (chain) to serve HTTPS with; needs --tls-key")
	flag.StringVar(&o.tlsKey, "tls-key", "", "PEM private key of --tls-cert")
	flag.Parse()
	if flag.NArg() > 0 {
		log.Fatalf("unexpected arguments: %q", flag.Args())
	}
	if err := run(o); err != nil {
		log.Fatal(err)
	}
}

func run(o options) error {
	if (o.tlsCert == "") != (o.tlsKey == "") {
		return errors.New("--tls-cert and --tls-key go together")
	}
	if o.jwksStatus != 0 && (o.jwksStatus < 100 || o.jwksStatus > 599) {
		return fmt.Errorf("--jwks-status %d is not an HTTP status", o.jwksStatus)
	}
	if o.jwksStatus != 0 && o.jwksEmpty {
		return errors.New("--jwks-status and --jwks-empty exclude each other")
	}
	path, err := issuerPath(o.issuerPath)
	if err != nil {
		return err
	}
	key, err := newSigningKey(o.alg)
	if err != nil {
		return err
	}

	var tlsConfig *tls.Config
	scheme := "http"
	if o.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(o.tlsCert, o.tlsKey)
		if err != nil {
			return fmt.Errorf("loading --tls-cert/--tls-key: %w", err)
		}
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		scheme = "https"
	}

	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return err
	}
	addr := ln.Addr().(*net.TCPAddr)
	// The URL the provider is really served from: the issuer unless --issuer-override.
	served := scheme + "://" + net.JoinHostPort(addr.IP.String(), fmt.Sprint(addr.Port)) + path
	issuer := served
	if o.issuerOverride != "" {
		issuer = strings.ReplaceAll(o.issuerOverride, "{issuer}", served)
	}

	var cryptoKey [32]byte
	if _, err := rand.Read(cryptoKey[:]); err != nil {
		return err
	}
	config := &op.Config{
		CryptoKey:               cryptoKey,
		CodeMethodS256:          true,
		AuthMethodPost:          true,
		AuthMethodPrivateKeyJWT: true,
		GrantTypeRefreshToken:   true,
		SupportedUILocales:      []language.Tag{language.English},
	}
	store := &keyStorage{
		Storage:   storage.NewStorage(storage.NewUserStore(served)),
		key:       key,
		jwksEmpty: o.jwksEmpty,
		jwksFail:  o.jwksStatus == http.StatusInternalServerError,
	}
	opts := []op.Option{}
	if strings.HasPrefix(issuer, "http://") {
		// The library refuses an http:// issuer unless told this is on purpose.
		opts = append(opts, op.WithAllowInsecure())
	}
	e := op.DefaultEndpoints
	// Where each endpoint is advertised; by default the library derives it from the issuer.
	endpoints := map[string]*op.Endpoint{
		"authorization": e.Authorization, "token": e.Token, "introspection": e.Introspection,
		"userinfo": e.Userinfo, "revocation": e.Revocation, "end_session": e.EndSession,
		"keys": e.JwksURI, "device_authorization": e.DeviceAuthorization,
	}
	if o.issuerOverride != "" {
		// Only the issuer differs: every endpoint stays at the address really served.
		for name, ep := range endpoints {
			endpoints[name] = op.NewEndpointWithURL(ep.Relative(), served+ep.Relative())
		}
	}
	if o.insecureEndpoints {
		for _, name := range []string{"authorization", "token", "userinfo"} {
			rel := endpoints[name].Relative()
			endpoints[name] = op.NewEndpointWithURL(rel, insecureHost+path+rel)
		}
	}
	opts = append(opts,
		op.WithCustomAuthEndpoint(endpoints["authorization"]),
		op.WithCustomTokenEndpoint(endpoints["token"]),
		op.WithCustomIntrospectionEndpoint(endpoints["introspection"]),
		op.WithCustomUserinfoEndpoint(endpoints["userinfo"]),
		op.WithCustomRevocationEndpoint(endpoints["revocation"]),
		op.WithCustomEndSessionEndpoint(endpoints["end_session"]),
		op.WithCustomKeysEndpoint(endpoints["keys"]),
		op.WithCustomDeviceAuthorizationEndpoint(endpoints["device_authorization"]),
	)
	provider, err := op.NewProvider(config, store, op.StaticIssuer(issuer), opts...)
	if err != nil {
		return fmt.Errorf("creating the provider for issuer %q: %w", issuer, err)
	}

	var handler http.Handler = provider
	keysPath := path + provider.KeysEndpoint().Relative()
	if o.jwksStatus != 0 && !store.jwksFail {
		// Any status but 500 (which the library answers itself when the key set fails).
		inner := handler
		handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == keysPath {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(o.jwksStatus)
				fmt.Fprintf(w, "{\"error\":%q}\n", http.StatusText(o.jwksStatus))
				return
			}
			inner.ServeHTTP(w, r)
		})
	}
	if path != "" {
		mux := http.NewServeMux()
		mux.Handle(path+"/", http.StripPrefix(path, handler))
		handler = mux
	}

	srv := &http.Server{
		Handler:           logRequests(handler),
		TLSConfig:         tlsConfig,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(os.Stderr, "oidc-provider: ", 0),
	}
	serveErr := make(chan error, 1)
	go func() {
		if tlsConfig != nil {
			serveErr <- srv.ServeTLS(ln, "", "")
		} else {
			serveErr <- srv.Serve(ln)
		}
	}()

	ready, err := json.Marshal(struct {
		Issuer    string `json:"issuer"`
		Discovery string `json:"discovery"`
		JWKS      string `json:"jwks"`
		Port      int    `json:"port"`
	}{
		Issuer:    issuer,
		Discovery: served + oidc.DiscoveryEndpoint,
		JWKS:      provider.KeysEndpoint().Absolute(issuer),
		Port:      addr.Port,
	})
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(os.Stdout, "%s\n", ready); err != nil {
		return err
	}
	log.Printf("serving issuer %s (%s key %s) from %s", issuer, key.alg, key.id, served)

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

// issuerPath turns --issuer-path into "" (the root) or "/a/b" (no trailing slash).
func issuerPath(p string) (string, error) {
	u, err := url.Parse(p)
	if err != nil || u.Scheme != "" || u.Host != "" || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("--issuer-path %q must be a plain path such as / or /realms/test", p)
	}
	p = strings.TrimRight(p, "/")
	if p != "" && !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	return p, nil
}

// signingKey is the provider's one key pair; it serves as both op.SigningKey and op.Key.
type signingKey struct {
	id      string
	alg     jose.SignatureAlgorithm
	private crypto.Signer
}

func (k *signingKey) ID() string                                  { return k.id }
func (k *signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return k.alg }

// publicKey is the JWKS view of a signingKey.
type publicKey struct{ *signingKey }

func (k publicKey) Algorithm() jose.SignatureAlgorithm { return k.alg }
func (k publicKey) Use() string                        { return "sig" }
func (k publicKey) Key() any                           { return k.private.Public() }

// Key of the signing key is the private key, as op.SignerFromKey expects.
func (k *signingKey) Key() any { return k.private }

func newSigningKey(alg string) (*signingKey, error) {
	var (
		priv crypto.Signer
		err  error
	)
	switch a := jose.SignatureAlgorithm(alg); a {
	case jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512:
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	case jose.ES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case jose.ES384:
		priv, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case jose.ES512:
		priv, err = ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	case jose.EdDSA:
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	default:
		return nil, fmt.Errorf("--alg %q is not one of RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA", alg)
	}
	if err != nil {
		return nil, err
	}
	k := &signingKey{id: uuid.NewString(), alg: jose.SignatureAlgorithm(alg), private: priv}
	// Make sure the library can sign with it, so a bad key fails at start and not at the first token.
	if _, err := op.SignerFromKey(k); err != nil {
		return nil, fmt.Errorf("%s key: %w", alg, err)
	}
	return k, nil
}

// keyStorage is the library's in-memory example storage with our signing key in place of its
// fixed RS256 one.
type keyStorage struct {
	*storage.Storage
	key       *signingKey
	jwksEmpty bool
	jwksFail  bool
}

var (
	_ op.Storage                = (*keyStorage)(nil)
	_ op.JWTProfileTokenStorage = (*keyStorage)(nil)
)

func (s *keyStorage) SigningKey(context.Context) (op.SigningKey, error) { return s.key, nil }

func (s *keyStorage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{s.key.alg}, nil
}

func (s *keyStorage) KeySet(context.Context) ([]op.Key, error) {
	switch {
	case s.jwksFail:
		return nil, errors.New("key set unavailable (--jwks-status 500)")
	case s.jwksEmpty:
		return []op.Key{}, nil
	}
	return []op.Key{publicKey{s.key}}, nil
}

// JWTProfileTokenType makes the JWT Profile grant (urn:ietf:params:oauth:grant-type:jwt-bearer,
// with the example storage's service user "service" and its key "key1") answer a JWT access
// token signed with the provider's key, so a test can get a real token to check against the JWKS.
func (s *keyStorage) JWTProfileTokenType(context.Context, op.TokenRequest) (op.AccessTokenType, error) {
	return op.AccessTokenTypeJWT, nil
}

// statusRecorder remembers the status a handler answered with, for the request log.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}

func logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		log.Printf("%s %s -> %d", r.Method, r.URL.RequestURI(), rec.status)
	})
}
