package e2e

import (
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// docker-compose.yml cannot run here (no Docker engine); scripts/test.sh
// validates its syntax with `docker-compose config -q`, and this test checks
// that what it sets is what the binaries actually accept and that the
// services point at each other consistently.

type composeFile struct {
	Services map[string]composeService `yaml:"services"`
}

type composeService struct {
	Image       string            `yaml:"image"`
	Build       string            `yaml:"build"`
	Entrypoint  []string          `yaml:"entrypoint"`
	Command     []string          `yaml:"command"`
	Environment map[string]string `yaml:"environment"`
	Ports       []string          `yaml:"ports"`
}

func TestComposeMatchesTheBinaries(t *testing.T) {
	raw, err := os.ReadFile("../docker-compose.yml")
	require.NoError(t, err)
	var cf composeFile
	require.NoError(t, yaml.Unmarshal(raw, &cf))
	for _, name := range []string{"postgres", "vault", "localstack", "mocksikka", "demo"} {
		require.Contains(t, cf.Services, name)
	}

	mockBinary := filepath.Join(filepath.Dir(demoBinary), "mocksikka")
	out, err := exec.Command("go", "build", "-o", mockBinary, "../cmd/mocksikka").CombinedOutput()
	require.NoError(t, err, "%s", out)
	help := map[string]string{
		"/usr/local/bin/sikka-demo": usageOf(t, demoBinary),
		"/usr/local/bin/mocksikka":  usageOf(t, mockBinary),
	}

	for name, svc := range cf.Services {
		if svc.Build == "" {
			continue
		}
		binary := "/usr/local/bin/sikka-demo" // the Dockerfile's entrypoint
		if len(svc.Entrypoint) > 0 {
			binary = svc.Entrypoint[0]
		}
		usage, ok := help[binary]
		require.True(t, ok, "service %s runs %s, which the Dockerfile does not build", name, binary)
		for key := range svc.Environment {
			assert.Contains(t, usage, key, "service %s sets %s, which %s -h does not document", name, key, binary)
		}
		for _, arg := range append(svc.Entrypoint[min(1, len(svc.Entrypoint)):], svc.Command...) {
			if flag, ok := strings.CutPrefix(arg, "-"); ok {
				flag, _, _ = strings.Cut(strings.TrimPrefix(flag, "-"), "=")
				assert.Regexp(t, regexp.MustCompile(`(?m)^\s+-`+regexp.QuoteMeta(flag)+`\b`), usage,
					"service %s passes -%s, which %s does not accept", name, flag, binary)
			}
		}
	}

	// The services point at each other.
	demo, mock := cf.Services["demo"].Environment, cf.Services["mocksikka"].Environment
	assert.Contains(t, []string{"vault", "awssm", "memory", "${SIKKA_SECRETS:-vault}"}, demo["SIKKA_SECRETS"])
	assertPublished(t, cf.Services["demo"], demo["SIKKA_DEMO_ADDR"])
	assertPublished(t, cf.Services["mocksikka"], mock["MOCKSIKKA_ADDR"])
	assert.Equal(t, "http://mocksikka:"+port(t, mock["MOCKSIKKA_ADDR"]), demo["SIKKA_API_URL"])
	oauth, err := url.Parse(demo["SIKKA_OAUTH_URL"])
	require.NoError(t, err)
	assert.Equal(t, port(t, mock["MOCKSIKKA_ADDR"]), oauth.Port(), "the browser reaches the mock's consent page")
	assert.Equal(t, "/portal/authapp.aspx", oauth.Path)
	public, err := url.Parse(demo["SIKKA_DEMO_PUBLIC_URL"])
	require.NoError(t, err)
	assert.Equal(t, port(t, demo["SIKKA_DEMO_ADDR"]), public.Port())

	pg := cf.Services["postgres"].Environment
	db, err := url.Parse(demo["DATABASE_URL"])
	require.NoError(t, err)
	assert.Equal(t, "postgres:5432", db.Host)
	assert.Equal(t, pg["POSTGRES_USER"], db.User.Username())
	pass, _ := db.User.Password()
	assert.Equal(t, pg["POSTGRES_PASSWORD"], pass)
	assert.Equal(t, "/"+pg["POSTGRES_DB"], db.Path)

	assert.Equal(t, "http://vault:8200", demo["VAULT_ADDR"])
	assert.Contains(t, cf.Services["vault"].Command, "-dev-root-token-id="+demo["VAULT_TOKEN"])
	assert.Equal(t, "http://localstack:4566", demo["AWS_ENDPOINT_URL_SECRETS_MANAGER"])
}

func usageOf(t *testing.T, binary string) string {
	t.Helper()
	out, _ := exec.Command(binary, "-h").CombinedOutput() // -h exits 0 or 2 depending on the flag package
	require.Contains(t, string(out), "-addr", "%s -h printed no usage", binary)
	return string(out)
}

func port(t *testing.T, addr string) string {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	require.NoError(t, err, addr)
	return p
}

func assertPublished(t *testing.T, svc composeService, addr string) {
	t.Helper()
	p := port(t, addr)
	assert.Contains(t, svc.Ports, p+":"+p, "port %s is published", p)
	host, _, _ := net.SplitHostPort(addr)
	assert.Equal(t, "0.0.0.0", host, "a container listens on every interface")
}
