// Command mocksikka serves the mock Sikka API (package mocksikka) over HTTP until SIGINT or
// SIGTERM. It prints its base URL as the first line of stdout and logs each request to stderr,
// with secrets masked. Run mocksikka -h for the flags and their environment variables.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "mocksikka:", err)
		if errors.Is(err, errUsage) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}
