package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parlae/sikka-connect/internal/syncbuf"
)

func noEnv(string) string { return "" }

// The embedded defaults need no server: the demo starts, prints its URL
// first, serves the setup page, and stops when its context ends.
func TestRunServesThenStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stdoutR, stdoutW := io.Pipe()
	logs := &syncbuf.Buffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0"}, noEnv, stdoutW, logs)
		stdoutW.Close()
	}()
	line, err := bufio.NewReader(stdoutR).ReadString('\n')
	require.NoError(t, err)
	pageURL, ok := strings.CutPrefix(strings.TrimSpace(line), "open ")
	require.True(t, ok, line)
	require.True(t, strings.HasSuffix(pageURL, "/agent/setup/pms"), pageURL)

	res, err := http.Get(pageURL)
	require.NoError(t, err)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, string(body), `id="connect"`)
	assert.Contains(t, string(body), "Connect PMS")

	// The start route sends the browser to the in-process mock's consent page.
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err = client.Get(strings.TrimSuffix(pageURL, "/agent/setup/pms") + "/agent/setup/pms/start")
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusFound, res.StatusCode)
	assert.Contains(t, res.Header.Get("Location"), "/portal/authapp.aspx?app_id=")

	cancel()
	select {
	case err := <-done:
		assert.NoError(t, err)
	case <-time.After(15 * time.Second):
		t.Fatal("run did not return after its context ended")
	}
	assert.Contains(t, logs.String(), "sikka-demo: stopped")
}

func TestHelpDocumentsEveryFlagAndVariable(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), []string{"-h"}, noEnv, io.Discard, &out)
	require.ErrorIs(t, err, errHelp)
	for flag, env := range envVars {
		assert.Contains(t, out.String(), "-"+flag)
		assert.Contains(t, out.String(), "["+env+"]")
	}
	assert.Contains(t, out.String(), "/demo/login?account=NAME")
	// Flags without a variable, and the other endpoints.
	assert.Regexp(t, `(?m)^\s+-healthcheck\b`, out.String())
	for _, s := range []string{"/healthz", "/readyz", "/metrics", "Demo only"} {
		assert.Contains(t, out.String(), s)
	}
}

func TestBadOptionsAreRefused(t *testing.T) {
	for _, args := range [][]string{
		{"-secrets", "s3"},
		{"-log-format", "xml"},
		{"extra"},
		{"-refresh-interval", "soon"},
		{"-writeback-delay", "-1s"},
	} {
		err := run(context.Background(), args, noEnv, io.Discard, io.Discard)
		assert.Error(t, err, "%v", args)
	}
	env := func(k string) string {
		if k == "SIKKA_REFRESH_INTERVAL" {
			return "soon"
		}
		return ""
	}
	err := run(context.Background(), nil, env, io.Discard, io.Discard)
	assert.ErrorContains(t, err, "SIKKA_REFRESH_INTERVAL")
}
