// Command vault is a real HashiCorp Vault server (v1.21.1, from the Go module
// proxy) built from Vault's own core packages with only what the project's
// tests use, for the tests only. It is its own module so that the project's
// go.mod does not inherit Vault's requirements; scripts/test.sh builds it once
// into a cache folder outside the repository and reuses it.
//
// What it keeps is Vault itself: vault.NewCore (barrier, Shamir seal,
// init/unseal/seal, token store, policies, sys/ backend), the HTTP API of
// github.com/hashicorp/vault/http, in-memory and file storage, the KV engine
// (github.com/hashicorp/vault-plugin-secrets-kv, v1 and v2, as Vault links it)
// and AppRole auth. What it leaves out is every other secrets engine, auth
// method, storage backend, audit device, the UI, the CLI client commands,
// TLS listeners and HA/raft clustering: mounting one of those fails with
// Vault's own "plugin not found" error.
//
// Its command line is the subset of Vault's the tests use:
//
//	vault version
//	vault server -dev -dev-root-token-id=T -dev-listen-address=127.0.0.1:P [-dev-no-store-token]
//	vault server -config=FILE   (storage "file" or "inmem", one tcp listener with
//	                             tls_disable, disable_mlock, api_addr, log_level)
//
// SIGTERM or SIGINT shuts it down (sealing it) and exits 0.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/hcl"
	kv "github.com/hashicorp/vault-plugin-secrets-kv"
	"github.com/hashicorp/vault/builtin/credential/approle"
	"github.com/hashicorp/vault/helper/namespace"
	vaulthttp "github.com/hashicorp/vault/http"
	"github.com/hashicorp/vault/internalshared/configutil"
	"github.com/hashicorp/vault/sdk/helper/consts"
	"github.com/hashicorp/vault/sdk/logical"
	"github.com/hashicorp/vault/sdk/physical"
	"github.com/hashicorp/vault/sdk/physical/file"
	"github.com/hashicorp/vault/sdk/physical/inmem"
	"github.com/hashicorp/vault/vault"
	"github.com/hashicorp/vault/version"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	switch os.Args[1] {
	case "version", "-version", "--version", "-v":
		fmt.Println(versionLine())
	case "server":
		if err := server(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "Error:", err)
			os.Exit(1)
		}
	default:
		usage()
	}
}

func usage() {
	fmt.Fprint(os.Stderr, `usage: vault version
       vault server -dev [-dev-root-token-id=T] [-dev-listen-address=ADDR] [-dev-no-store-token]
       vault server -config=FILE
This is a lean Vault server for tests (in-memory and file storage, KV, token and AppRole auth).
`)
	os.Exit(2)
}

// versionLine is `vault version` of the real binary, marked as this build.
func versionLine() string {
	return version.GetVersion().FullVersionNumber(false) + " (sikka-connect lean test build: inmem/file storage, kv, approle)"
}

type options struct {
	dev         bool
	rootToken   string
	listen      string
	storageType string
	storageConf map[string]string
	apiAddr     string
	logLevel    string
	mlockOff    bool
}

func server(args []string) error {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	var o options
	var configFile string
	fs.BoolVar(&o.dev, "dev", false, "in-memory, initialised and unsealed dev server")
	fs.StringVar(&o.rootToken, "dev-root-token-id", "", "the dev server's root token")
	fs.StringVar(&o.listen, "dev-listen-address", "127.0.0.1:8200", "the dev server's address")
	fs.Bool("dev-no-store-token", false, "accepted; this build never writes a token helper file")
	fs.StringVar(&configFile, "config", "", "HCL configuration file")
	fs.StringVar(&o.logLevel, "log-level", "info", "trace, debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	switch {
	case o.dev && configFile != "":
		return errors.New("give -dev or -config, not both")
	case o.dev:
		o.storageType, o.mlockOff = "inmem", true
		o.apiAddr = "http://" + o.listen
	case configFile != "":
		if err := readConfig(configFile, &o); err != nil {
			return err
		}
	default:
		return errors.New("give -dev or -config=FILE")
	}
	return run(o)
}

// fileConfig is the part of Vault's server configuration this build reads.
type fileConfig struct {
	Storage      map[string]map[string]string `hcl:"storage"`
	Listener     map[string]map[string]any    `hcl:"listener"`
	DisableMlock bool                         `hcl:"disable_mlock"`
	APIAddr      string                       `hcl:"api_addr"`
	LogLevel     string                       `hcl:"log_level"`
	UI           bool                         `hcl:"ui"`
}

func readConfig(path string, o *options) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var c fileConfig
	if err := hcl.Decode(&c, string(b)); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if len(c.Storage) != 1 {
		return fmt.Errorf("%s: need exactly one storage block (\"file\" or \"inmem\")", path)
	}
	for t, conf := range c.Storage {
		if t != "file" && t != "inmem" {
			return fmt.Errorf("%s: storage %q is not in this lean build; use \"file\" or \"inmem\", or a full Vault", path, t)
		}
		o.storageType, o.storageConf = t, conf
	}
	tcp, ok := c.Listener["tcp"]
	if len(c.Listener) != 1 || !ok {
		return fmt.Errorf("%s: need exactly one listener \"tcp\" block", path)
	}
	for k, v := range tcp {
		switch k {
		case "address":
			o.listen, _ = v.(string)
		case "tls_disable":
			if v != true && v != "true" && v != "1" && v != 1 {
				return fmt.Errorf("%s: this lean build has no TLS listener; set tls_disable = true", path)
			}
		default:
			return fmt.Errorf("%s: listener option %q is not in this lean build", path, k)
		}
	}
	if o.listen == "" {
		o.listen = "127.0.0.1:8200"
	}
	if _, ok := c.Listener["tcp"]["tls_disable"]; !ok {
		return fmt.Errorf("%s: this lean build has no TLS listener; set tls_disable = true", path)
	}
	o.mlockOff, o.apiAddr = c.DisableMlock, c.APIAddr
	if c.LogLevel != "" {
		o.logLevel = c.LogLevel
	}
	return nil
}

func run(o options) error {
	logger := hclog.New(&hclog.LoggerOptions{
		Name: "vault", Level: hclog.LevelFromString(o.logLevel), Output: os.Stderr,
	})
	var backend physical.Backend
	var err error
	switch o.storageType {
	case "inmem":
		backend, err = inmem.NewInmem(o.storageConf, logger.Named("storage.inmem"))
	case "file":
		backend, err = file.NewFileBackend(o.storageConf, logger.Named("storage.file"))
	}
	if err != nil {
		return fmt.Errorf("storage %s: %w", o.storageType, err)
	}
	if !o.mlockOff {
		logger.Warn("mlock is not used by this lean build; set disable_mlock = true to silence this")
	}

	conf := &vault.CoreConfig{
		Physical:            backend,
		StorageType:         o.storageType,
		RedirectAddr:        o.apiAddr,
		Logger:              logger,
		DisableMlock:        true,
		LogicalBackends:     map[string]logical.Factory{"kv": kv.Factory},
		CredentialBackends:  map[string]logical.Factory{"approle": approle.Factory},
		BuiltinRegistry:     registry{},
		EnableRaw:           o.dev,
		EnableIntrospection: o.dev,
		DevToken:            o.rootToken,
	}
	core, err := vault.NewCore(conf)
	if err != nil {
		if vault.IsFatalError(err) {
			return fmt.Errorf("initialising core: %w", err)
		}
		logger.Warn("non-fatal error initialising core", "error", err)
	}

	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return err
	}
	handler := vaulthttp.Handler.Handler(&vault.HandlerProperties{
		Core:           core,
		ListenerConfig: &configutil.Listener{Type: "tcp", Address: o.listen, TLSDisable: true},
	})
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       5 * time.Minute,
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	if o.dev {
		if err := enableDev(core, o.rootToken); err != nil {
			_ = srv.Close()
			_ = core.Shutdown()
			return fmt.Errorf("dev mode: %w", err)
		}
	}
	logger.Info("lean vault server started", "version", versionLine(), "storage", o.storageType,
		"address", o.listen, "dev", o.dev)
	fmt.Printf("==> Vault server started! Listening on %s\n", o.listen)

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	select {
	case s := <-sig:
		logger.Info("shutting down", "signal", s.String())
	case err := <-serveErr:
		_ = core.Shutdown()
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(ctx)
	if err := core.Shutdown(); err != nil {
		return fmt.Errorf("shutting down core: %w", err)
	}
	return nil
}

// enableDev is Vault's own dev mode (command/server.go enableDev): initialise
// with one Shamir key share, unseal, replace the root token by the one given,
// mount KV v2 at secret/.
func enableDev(core *vault.Core, devToken string) error {
	ctx := namespace.ContextWithNamespace(context.Background(), namespace.RootNamespace)
	init, err := core.Initialize(ctx, &vault.InitParams{
		BarrierConfig: &vault.SealConfig{SecretShares: 1, SecretThreshold: 1, Name: "shamir"},
	})
	if err != nil {
		return err
	}
	key := make([]byte, len(init.SecretShares[0]))
	copy(key, init.SecretShares[0])
	unsealed, err := core.Unseal(key)
	if err != nil {
		return err
	}
	if !unsealed {
		return errors.New("failed to unseal Vault for dev mode")
	}
	root := init.RootToken
	if devToken != "" {
		req := &logical.Request{
			ID:          "dev-gen-root",
			Operation:   logical.UpdateOperation,
			ClientToken: init.RootToken,
			Path:        "auth/token/create",
			Data: map[string]any{
				"id":                devToken,
				"policies":          []string{"root"},
				"no_parent":         true,
				"no_default_policy": true,
			},
		}
		resp, err := core.HandleRequest(ctx, req)
		if err != nil {
			return fmt.Errorf("creating the root token given by -dev-root-token-id: %w", err)
		}
		if resp == nil || resp.Auth == nil {
			return errors.New("no auth in the answer creating the root token given by -dev-root-token-id")
		}
		root = resp.Auth.ClientToken
		req.ID, req.Path, req.Data = "dev-revoke-init-root", "auth/token/revoke-self", nil
		if _, err := core.HandleRequest(ctx, req); err != nil {
			return fmt.Errorf("revoking the initial root token: %w", err)
		}
	}
	resp, err := core.HandleRequest(ctx, &logical.Request{
		Operation:   logical.UpdateOperation,
		ClientToken: root,
		Path:        "sys/mounts/secret",
		Data: map[string]any{
			"type":        "kv",
			"path":        "secret/",
			"description": "key/value secret storage",
			"options":     map[string]string{"version": "2"},
		},
	})
	if err != nil {
		return fmt.Errorf("mounting KV v2 at secret/: %w", err)
	}
	if resp.IsError() {
		return fmt.Errorf("mounting KV v2 at secret/: %w", resp.Error())
	}
	return nil
}

// registry is an empty builtin plugin catalog: the engines this build has
// are linked in directly (CoreConfig's LogicalBackends and
// CredentialBackends), as Vault itself links kv; there are no others.
type registry struct{}

func (registry) Contains(string, consts.PluginType) bool { return false }
func (registry) Get(string, consts.PluginType) (func() (any, error), bool) {
	return nil, false
}
func (registry) Keys(consts.PluginType) []string { return nil }
func (registry) DeprecationStatus(string, consts.PluginType) (consts.DeprecationStatus, bool) {
	return consts.Unknown, false
}
func (registry) IsBuiltinEntPlugin(string, consts.PluginType) bool { return false }
