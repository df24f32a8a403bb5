package sikka_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parlae/sikka-connect/sikka"
)

// The secrets of the echo tests: mixed case, and holding characters that
// URL, JSON and HTML escaping change, so that each form differs from the
// secret itself.
const (
	echoAppKey     = "AkEy9fQ/x+Lm=Tz&Wp:Rv?Hs~Nd"
	echoCode       = "CoDe7Hq/Xw+Je=Ub&Ky Lr?Gm<Aa"
	echoSecretKey  = "SeCr3tZk/Pw+Qn=Fx&Vt:Bj<Ye"
	echoRequestKey = "ReQk4Ma/Lz+Wd=Ts&Hp:Xc?Ko>Ee"
	echoRefreshKey = "RfSh5Nb/Qy+Ev=Gu&Jr:Zs~Io\"Uu"
)

var echoSecrets = []string{echoAppKey, echoCode, echoSecretKey, echoRequestKey, echoRefreshKey}

// echoCalls are the calls that send each secret (every call sends the app
// key too, in a header or the body).
var echoCalls = []struct {
	secret string
	op     string
	call   func(context.Context, *sikka.Client) error
}{
	{echoAppKey, "AuthorizedPracticesForApp", func(ctx context.Context, c *sikka.Client) error {
		_, err := c.AuthorizedPracticesForApp(ctx)
		return err
	}},
	{echoCode, "ExchangeCode", func(ctx context.Context, c *sikka.Client) error {
		_, err := c.ExchangeCode(ctx, echoCode)
		return err
	}},
	{echoSecretKey, "RequestKey", func(ctx context.Context, c *sikka.Client) error {
		_, err := c.RequestKey(ctx, "D36225", echoSecretKey)
		return err
	}},
	{echoRequestKey, "RequestKeyInfo", func(ctx context.Context, c *sikka.Client) error {
		_, err := c.RequestKeyInfo(ctx, echoRequestKey)
		return err
	}},
	{echoRequestKey, "AuthorizedPractices", func(ctx context.Context, c *sikka.Client) error {
		_, err := c.AuthorizedPractices(ctx, echoRequestKey)
		return err
	}},
	{echoRequestKey, "RevokeKey", func(ctx context.Context, c *sikka.Client) error {
		return c.RevokeKey(ctx, echoRequestKey)
	}},
	{echoRefreshKey, "RefreshKey", func(ctx context.Context, c *sikka.Client) error {
		_, err := c.RefreshKey(ctx, echoRefreshKey)
		return err
	}},
	{echoRefreshKey, "RevokeRefreshKey", func(ctx context.Context, c *sikka.Client) error {
		return c.RevokeRefreshKey(ctx, echoRefreshKey)
	}},
	{echoAppKey, "AuthorizedPractice", func(ctx context.Context, c *sikka.Client) error {
		_, err := c.AuthorizedPractice(ctx, "D36225")
		return err
	}},
}

// jsonUEscape writes every character of s as a \uXXXX escape.
func jsonUEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		fmt.Fprintf(&b, `\u%04x`, r)
	}
	return b.String()
}

// echoForms are the forms in which a server may echo a secret.
var echoForms = []struct {
	name string
	form func(string) string
}{
	{"upper-case", strings.ToUpper},
	{"lower-case", strings.ToLower},
	{"query-escaped", url.QueryEscape},
	{"path-escaped", url.PathEscape},
	{"query-escaped, upper-cased", func(s string) string { return strings.ToUpper(url.QueryEscape(s)) }},
	{"double query-escaped", func(s string) string { return url.QueryEscape(url.QueryEscape(s)) }},
	{"base64", func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }},
	{"base64 raw", func(s string) string { return base64.RawStdEncoding.EncodeToString([]byte(s)) }},
	{"base64url", func(s string) string { return base64.URLEncoding.EncodeToString([]byte(s)) }},
	{"base64url raw", func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }},
	{"base64 of a longer text", func(s string) string {
		return base64.StdEncoding.EncodeToString([]byte("k=" + s + ";"))
	}},
	{"partial 12-character run", func(s string) string { return s[4:16] }},
	{"partial 12-character run, upper-cased", func(s string) string { return strings.ToUpper(s[3:15]) }},
	{"JSON-escaped, every character", jsonUEscape},
	{"JSON string (encoding-json)", func(s string) string { b, _ := json.Marshal(s); return string(b) }},
	{"HTML-escaped", html.EscapeString},
}

// echoServer answers every request with an error envelope (status 401, or
// a 200 carrying http_code 401 when embedded) whose every field, and an
// extra one, echoes form(v) for each secret v the request carried (in the
// Request-Key or App-Key header or the JSON body). It fails t if want was
// not among them.
func echoServer(t *testing.T, want string, form func(string) string, embedded bool) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sent := []string{r.Header.Get("Request-Key"), r.Header.Get("Refresh-Key"), r.Header.Get("App-Key")}
		var body map[string]string
		if r.Body != nil {
			_ = json.NewDecoder(r.Body).Decode(&body)
		}
		for _, k := range []string{"app_key", "code", "secret_key", "refresh_key"} {
			sent = append(sent, body[k])
		}
		var echoes []string
		got := false
		for _, v := range sent {
			if v != "" {
				echoes = append(echoes, form(v))
				got = got || v == want
			}
		}
		assert.True(t, got, "the request carried the secret")
		echo := "invalid " + strings.Join(echoes, " and ") + " given"
		code, status := echo, http.StatusUnauthorized
		if embedded {
			code, status = "401", http.StatusOK
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]string{
			"http_code": code, "http_code_desc": echo, "error_code": echo,
			"short_message": echo, "long_message": echo, "more_information": echo,
			"request": echo,
		})
	}))
	t.Cleanup(srv.Close)
	return srv
}

// echoClient returns a client of base logging JSON into logs at Debug,
// without retries.
func echoClient(base string, logs *syncBuffer) *sikka.Client {
	return sikka.New("echo-app", echoAppKey,
		sikka.WithBaseURL(base),
		sikka.WithMaxAttempts(1),
		sikka.WithLogger(slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))),
	)
}

// jsonLogStrings returns every string value (keys too) of a JSON-lines log,
// decoded, so that an escape in the log cannot hide a secret.
func jsonLogStrings(t *testing.T, logs string) []string {
	t.Helper()
	var out []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case string:
			out = append(out, v)
		case map[string]any:
			for k, x := range v {
				out = append(out, k)
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	sc := bufio.NewScanner(strings.NewReader(logs))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var v any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &v), "a JSON log line")
		walk(v)
	}
	return out
}

// assertNoEcho fails t when any text holds, case-insensitively, one of the
// secrets or form of one.
func assertNoEcho(t *testing.T, form func(string) string, texts ...string) {
	t.Helper()
	for _, secret := range echoSecrets {
		needles := []string{secret, form(secret)}
		for _, text := range texts {
			low := strings.ToLower(text)
			for _, n := range needles {
				if strings.Contains(low, strings.ToLower(n)) {
					t.Errorf("%q (a form of %q) in %q", n, secret, text)
				}
			}
		}
	}
}

// errorOutputs are the texts an error reaches: its text, its printed
// forms, its envelope printed and as JSON, and a slog JSON log of it, plus
// the client's own log.
func errorOutputs(t *testing.T, err error, clientLog string) []string {
	t.Helper()
	var se *sikka.Error
	require.ErrorAs(t, err, &se)
	envJSON, jerr := json.Marshal(se.Envelope)
	require.NoError(t, jerr)
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Error("sikka call failed",
		"err", err, slog.Any("envelope", se.Envelope), slog.Any("sikka_error", se))
	out := []string{
		err.Error(),
		fmt.Sprintf("%v|%+v|%#v|%s|%q", err, err, err, err, err),
		fmt.Sprintf("%v|%+v|%#v", se.Envelope, se.Envelope, se.Envelope),
		string(envJSON), logs.String(), clientLog,
	}
	out = append(out, jsonLogStrings(t, logs.String())...)
	return append(out, jsonLogStrings(t, clientLog)...)
}

// TestEchoedSecretFormsAreScrubbed: a server echoing any secret the client
// sent, in any of the forms above, in every field of an error envelope
// (sent as a 401 or inside a 200), never gets it into the error, its
// envelope, or a log; the fields still say that something was redacted.
func TestEchoedSecretFormsAreScrubbed(t *testing.T) {
	ctx := context.Background()
	for _, f := range echoForms {
		t.Run(f.name, func(t *testing.T) {
			for _, c := range echoCalls {
				for _, embedded := range []bool{false, true} {
					t.Run(fmt.Sprintf("%s/embedded=%v", c.op, embedded), func(t *testing.T) {
						srv := echoServer(t, c.secret, f.form, embedded)
						logs := &syncBuffer{}
						err := c.call(ctx, echoClient(srv.URL, logs))
						e := requireSikkaError(t, err, c.op, sikka.ErrUnauthorized)
						assert.Contains(t, e.Envelope.ShortMessage, "[REDACTED]")
						assert.True(t, strings.HasPrefix(e.Envelope.LongMessage, "invalid "), e.Envelope.LongMessage)
						assertNoEcho(t, f.form, errorOutputs(t, err, logs.String())...)
					})
				}
			}
		})
	}
}

// TestEchoInTransportCauseIsScrubbed: a server that answers no HTTP at all
// but echoes a secret's form as its status line makes net/http quote that
// line in its error; the cause's text reaching the error and the log is
// scrubbed all the same.
func TestEchoInTransportCauseIsScrubbed(t *testing.T) {
	ctx := context.Background()
	for _, f := range echoForms {
		t.Run(f.name, func(t *testing.T) {
			for _, c := range echoCalls {
				t.Run(c.op, func(t *testing.T) {
					var mu sync.Mutex
					var sent []string
					srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						vals := []string{r.Header.Get("Request-Key"), r.Header.Get("App-Key")}
						var body map[string]string
						_ = json.NewDecoder(r.Body).Decode(&body)
						vals = append(vals, body["code"], body["secret_key"], body["refresh_key"])
						var line []string
						for _, v := range vals {
							if v != "" {
								// No space: net/http then quotes the whole line.
								line = append(line, strings.ReplaceAll(f.form(v), " ", ""))
							}
						}
						mu.Lock()
						sent = append(sent, line...)
						mu.Unlock()
						conn, buf, err := http.NewResponseController(w).Hijack()
						if !assert.NoError(t, err) {
							return
						}
						defer conn.Close()
						fmt.Fprintf(buf, "%s\r\n\r\n", strings.Join(line, "|"))
						_ = buf.Flush()
					}))
					defer srv.Close()
					logs := &syncBuffer{}
					err := c.call(ctx, echoClient(srv.URL, logs))
					requireSikkaError(t, err, c.op, sikka.ErrUnavailable)
					assert.Contains(t, err.Error(), "malformed HTTP response")
					assert.Contains(t, err.Error(), "[REDACTED]")
					outs := errorOutputs(t, err, logs.String())
					assertNoEcho(t, f.form, outs...)
					mu.Lock()
					defer mu.Unlock()
					require.NotEmpty(t, sent)
					for _, s := range sent {
						for _, out := range outs {
							assert.NotContains(t, strings.ToLower(out), strings.ToLower(s))
						}
					}
				})
			}
		})
	}
}

// TestNoSecretInRequestURLs: no call puts a secret in the URL it requests
// (the path and query net/http quotes in a url.Error, and proxies log): the
// secrets travel in headers and JSON bodies only.
func TestNoSecretInRequestURLs(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	var urls []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		urls = append(urls, r.RequestURI, r.URL.String())
		mu.Unlock()
		w.WriteHeader(http.StatusUnauthorized)
	}))
	defer srv.Close()
	for _, c := range echoCalls {
		requireSikkaError(t, c.call(ctx, echoClient(srv.URL, &syncBuffer{})), c.op, sikka.ErrUnauthorized)
	}
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, urls, 2*len(echoCalls))
	for _, u := range urls {
		for _, secret := range echoSecrets {
			for _, form := range []string{secret, url.QueryEscape(secret), url.PathEscape(secret), secret[:12]} {
				assert.NotContains(t, strings.ToLower(u), strings.ToLower(form), "a secret in a URL")
			}
		}
	}
}
