// Command sikka-demo is a small host application that mounts the sikka-connect
// middleware: the README's one-command demo of the whole connect flow.
//
// With no flags and no servers it starts the mock Sikka in-process, keeps
// records and secrets in memory, and serves a setup-wizard page on
// http://127.0.0.1:8080/agent/setup/pms. Flags switch each part to the real
// thing: -sikka-url (an external mock or the real Sikka), -database-url
// (PostgreSQL), -secrets vault|awssm (with the backend's usual environment).
// Run `sikka-demo -h` for every flag.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/parlae/sikka-connect/internal/serve"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, errHelp) {
			return
		}
		// One line: what failed and what to do; never a stack.
		fmt.Fprintln(os.Stderr, "sikka-demo:", oneLine(err))
		os.Exit(1)
	}
}

var errHelp = errors.New("help requested")

// run is the whole program; main only wires the process to it. It prints the
// URL to open as the first line of stdout, logs to stderr, and returns when
// ctx ends (after a graceful shutdown) or on a start-up error, which says
// what failed and what to do. With -healthcheck it only probes a running
// demo.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	opts, err := parseOptions(args, getenv, stderr)
	if err != nil {
		return err
	}
	return runOptions(ctx, opts, stdout, stderr)
}

// runOptions is run after the options are parsed.
func runOptions(ctx context.Context, opts options, stdout, stderr io.Writer) error {
	if opts.healthcheck {
		return serve.Healthcheck(ctx, opts.addr, "sikka-demo")
	}
	app, err := newApp(ctx, opts, stderr)
	if err != nil {
		return err
	}
	defer app.close()
	return app.serve(ctx, stdout)
}
