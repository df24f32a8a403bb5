// Command mocksikka serves the mock Sikka API (package mocksikka) over HTTP until SIGINT or
// SIGTERM. It prints its base URL as the first line of stdout and logs each request to stderr,
// with secrets masked. Run mocksikka -h for the flags and their environment variables.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		// One line, what failed and what to do, and exit code 1 for every
		// start-up error (usage errors included): never a stack.
		msg := strings.TrimPrefix(err.Error(), errUsage.Error()+": ")
		fmt.Fprintln(os.Stderr, "mocksikka:", strings.Join(strings.Fields(msg), " "))
		os.Exit(1)
	}
}
