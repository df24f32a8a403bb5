// Package clitest runs a command's real main in a child process of its test
// binary, so that the binaries' tests check the process as a user sees it:
// its exit code and every line it prints.
//
// A test package calls Main from its TestMain, then Run:
//
//	func TestMain(m *testing.M) { clitest.Main(m, "MOCKSIKKA_TEST_RUN_MAIN", main) }
package clitest

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Main runs main instead of the tests when envVar is "1" (in the child that
// Run starts), else the tests.
func Main(m *testing.M, envVar string, main func()) {
	if os.Getenv(envVar) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// Run runs the test binary's main (see Main) in a child process with args
// and only the environment given (PATH and an empty HOME besides), and
// returns its exit code, stdout and stderr.
func Run(t testing.TB, envVar string, args []string, environ ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Env = append([]string{envVar + "=1", "PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, environ...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("run %v: %v", args, err)
	}
	return cmd.ProcessState.ExitCode(), stdout.String(), stderr.String()
}

// ClosedAddr is a loopback address nothing listens on.
func ClosedAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// OneLineExit1 reports whether a failed start looks as it must to a user:
// exit code 1, nothing on stdout, one line on stderr starting with
// program + ": ", no panic.
func OneLineExit1(program string, code int, stdout, stderr string) bool {
	return code == 1 && stdout == "" && strings.HasPrefix(stderr, program+": ") &&
		strings.Count(stderr, "\n") == 1 && strings.HasSuffix(stderr, "\n") &&
		!strings.Contains(stderr, "panic") && !strings.Contains(stderr, "goroutine")
}
