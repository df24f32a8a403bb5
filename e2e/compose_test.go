package e2e

import (
	"bufio"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// docker-compose.yml cannot run here (no Docker engine); scripts/test.sh
// validates its syntax with `docker-compose config -q`, and these tests
// check that what it sets is what the binaries actually accept, that the
// services point at each other consistently, and that the stack is safe to
// run on a laptop: published ports on loopback only, pinned images, no
// emulator that wants an account token, healthchecks instead of restart
// loops, and the project's image built once.

type composeFile struct {
	Services map[string]composeService `yaml:"services"`
}

type composeService struct {
	Image       string                      `yaml:"image"`
	Build       any                         `yaml:"build"` // a context path or a build section
	Entrypoint  []string                    `yaml:"entrypoint"`
	Command     []string                    `yaml:"command"`
	Environment map[string]string           `yaml:"environment"`
	Ports       []string                    `yaml:"ports"`
	Restart     string                      `yaml:"restart"`
	Healthcheck *composeHealthcheck         `yaml:"healthcheck"`
	DependsOn   map[string]composeDependsOn `yaml:"depends_on"`
}

type composeHealthcheck struct {
	Test    []string `yaml:"test"`
	Disable bool     `yaml:"disable"`
}

type composeDependsOn struct {
	Condition string `yaml:"condition"`
}

func readCompose(t *testing.T) composeFile {
	t.Helper()
	raw, err := os.ReadFile("../docker-compose.yml")
	require.NoError(t, err)
	var cf composeFile
	require.NoError(t, yaml.Unmarshal(raw, &cf), "docker-compose.yml: use the list forms of ports, depends_on as a map, healthcheck test as a list")
	require.NotEmpty(t, cf.Services)
	return cf
}

// dockerfile is what the tests need of the Dockerfile: the base images, the
// directory the final stage copies the binaries to, and its entrypoint.
type dockerfile struct {
	from       []string
	binDir     string
	entrypoint string
}

func readDockerfile(t *testing.T) dockerfile {
	t.Helper()
	f, err := os.Open("../Dockerfile")
	require.NoError(t, err)
	defer f.Close()
	var df dockerfile
	var logical string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") {
			continue
		}
		if cont, ok := strings.CutSuffix(line, "\\"); ok {
			logical += cont + " "
			continue
		}
		logical += line
		full := logical
		fields := strings.Fields(full)
		logical = ""
		if len(fields) < 2 {
			continue
		}
		switch strings.ToUpper(fields[0]) {
		case "FROM":
			df.from = append(df.from, fields[1])
		case "COPY":
			if slices.ContainsFunc(fields, func(s string) bool { return strings.HasPrefix(s, "--from=") }) {
				df.binDir = strings.TrimSuffix(fields[len(fields)-1], "/")
			}
		case "ENTRYPOINT":
			// exec form: ENTRYPOINT ["/path/binary", "arg"…]
			ep := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(full[len(fields[0]):]), "["))
			df.entrypoint = strings.Trim(strings.TrimSpace(strings.Split(strings.TrimSuffix(ep, "]"), ",")[0]), `"`)
		}
	}
	require.NoError(t, sc.Err())
	require.NotEmpty(t, df.binDir, "the Dockerfile's final stage copies the binaries somewhere")
	require.NotEmpty(t, df.entrypoint, "the Dockerfile has an ENTRYPOINT")
	return df
}

// builtImage returns the one service that builds the project's image, and
// the image's name.
func builtImage(t *testing.T, cf composeFile) (builder, image string) {
	t.Helper()
	for name, svc := range cf.Services {
		if svc.Build != nil {
			require.Empty(t, builder, "services %s and %s both build the project's image: build it once", builder, name)
			builder, image = name, svc.Image
		}
	}
	require.NotEmpty(t, builder, "one service builds the project's image")
	require.NotEmpty(t, image, "service %s builds the project's image under an image: name the others reuse", builder)
	return builder, image
}

// runsProject reports whether svc runs the project's image.
func runsProject(svc composeService, image string) bool {
	return svc.Build != nil || svc.Image == image
}

func TestComposeMatchesTheBinaries(t *testing.T) {
	cf := readCompose(t)
	for _, name := range []string{"postgres", "vault", "moto", "mocksikka", "demo"} {
		require.Contains(t, cf.Services, name)
	}
	df := readDockerfile(t)
	_, image := builtImage(t, cf)

	mockBinary := filepath.Join(filepath.Dir(demoBinary), "mocksikka")
	out, err := exec.Command("go", "build", "-o", mockBinary, "github.com/parlae/sikka-connect/cmd/mocksikka").CombinedOutput()
	require.NoError(t, err, "%s", out)
	help := map[string]string{ // where the Dockerfile puts each binary
		path.Join(df.binDir, "sikka-demo"): usageOf(t, demoBinary),
		path.Join(df.binDir, "mocksikka"):  usageOf(t, mockBinary),
	}
	require.Contains(t, help, df.entrypoint, "the Dockerfile's entrypoint is one of the two binaries")

	for name, svc := range cf.Services {
		if !runsProject(svc, image) {
			continue
		}
		binary := df.entrypoint
		if len(svc.Entrypoint) > 0 {
			binary = svc.Entrypoint[0]
		}
		usage, ok := help[binary]
		require.True(t, ok, "service %s runs %s, which the Dockerfile does not build", name, binary)
		for key := range svc.Environment {
			assert.Contains(t, usage, key, "service %s sets %s, which %s -h does not document", name, key, binary)
		}
		assertFlagsAccepted(t, name, binary, usage, append(svc.Entrypoint[min(1, len(svc.Entrypoint)):], svc.Command...))

		// The healthcheck runs one of the binaries, with flags it accepts.
		if assert.NotNil(t, svc.Healthcheck, "service %s has a healthcheck", name) && len(svc.Healthcheck.Test) > 1 {
			test := svc.Healthcheck.Test
			assert.Equal(t, "CMD", test[0], "service %s: the image has no shell, so the healthcheck is CMD (exec form)", name)
			usage, ok := help[test[1]]
			if assert.True(t, ok, "service %s's healthcheck runs %s, which the Dockerfile does not build", name, test[1]) {
				assert.Equal(t, binary, test[1], "service %s checks its own binary", name)
				assertFlagsAccepted(t, name+" (healthcheck)", test[1], usage, test[2:])
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
	assert.Equal(t, "http://moto:5000", demo["AWS_ENDPOINT_URL_SECRETS_MANAGER"], "moto serves every AWS API on port 5000")
}

// TestComposeBindsPublishedPortsToLoopback: the stack runs dev-mode servers
// with fixed credentials (Vault's root token, the mock's admin API), so no
// port may be published on the machine's other interfaces.
func TestComposeBindsPublishedPortsToLoopback(t *testing.T) {
	cf := readCompose(t)
	published := 0
	for name, svc := range cf.Services {
		for _, p := range svc.Ports {
			published++
			assert.Regexp(t, `^127\.0\.0\.1:\d+:\d+(/tcp)?$`, p,
				"service %s publishes %q: bind it to loopback, as 127.0.0.1:HOST:CONTAINER", name, p)
		}
	}
	assert.NotZero(t, published, "the browser reaches the demo and the mock through published ports")
}

// exactVersion is a tag naming one release: 1.21.1, v5.1.22,
// 1.26.8-bookworm; not latest, 5 or 1.21.
var exactVersion = regexp.MustCompile(`^v?\d+\.\d+\.\d+([-_.][A-Za-z0-9._-]+)?$`)

// majorMinorReleases are the images whose releases have two numbers
// (PostgreSQL 10 and later: 15.17 is one release, 15 a line of them).
var majorMinorReleases = map[string]bool{"postgres": true, "library/postgres": true, "docker.io/library/postgres": true}

var majorMinor = regexp.MustCompile(`^\d+\.\d+([-_.][A-Za-z]+[A-Za-z0-9._-]*)?$`)

// pinned reports whether an image reference names one release: an exact
// version tag, or a digest.
func pinned(ref string) bool {
	if strings.Contains(ref, "@sha256:") {
		return true
	}
	slash := strings.LastIndex(ref, "/")
	repo, tag, ok := strings.Cut(ref[slash+1:], ":")
	if !ok {
		return false
	}
	if majorMinorReleases[ref[:slash+1]+repo] {
		return majorMinor.MatchString(tag) || exactVersion.MatchString(tag)
	}
	return exactVersion.MatchString(tag)
}

func TestComposePinsEveryImage(t *testing.T) {
	cf := readCompose(t)
	_, project := builtImage(t, cf)
	for name, svc := range cf.Services {
		if runsProject(svc, project) {
			continue // built here, from the Dockerfile (below)
		}
		if assert.NotEmpty(t, svc.Image, "service %s names an image", name) {
			assert.True(t, pinned(svc.Image), "service %s uses %s: pin it to an exact version (not latest, not a major or minor line)", name, svc.Image)
		}
	}
	for _, from := range readDockerfile(t).from {
		if strings.HasPrefix(from, "gcr.io/distroless/") {
			continue // distroless publishes no version tags, only digests of its rolling tags
		}
		assert.True(t, pinned(from), "the Dockerfile builds FROM %s: pin it to an exact version", from)
	}

	// Compose runs the Vault the tests run.
	raw, err := os.ReadFile("../scripts/lib/servers.sh")
	require.NoError(t, err)
	m := regexp.MustCompile(`(?m)^VAULT_VERSION=(\S+)`).FindSubmatch(raw)
	require.NotNil(t, m, "scripts/lib/servers.sh sets VAULT_VERSION")
	assert.Equal(t, "hashicorp/vault:"+string(m[1]), cf.Services["vault"].Image)

	// The checks themselves.
	for ref, want := range map[string]bool{
		"postgres:15.17": true, "motoserver/moto:5.1.22": true, "golang:1.26.8-bookworm": true,
		"localhost:5000/x:1.2.3": true, "postgres@sha256:abc": true,
		"postgres:15.17-bookworm": true, "postgres:15": false, "postgres:15-bookworm": false, "hashicorp/vault:1.21": false, "localstack/localstack:4": false,
		"moto:latest": false, "postgres": false, "localhost:5000/x": false,
	} {
		assert.Equal(t, want, pinned(ref), ref)
	}
}

// TestComposeAWSEmulatorNeedsNoToken: LocalStack's current images refuse to
// start without an account token; the stack's Secrets Manager is moto,
// which needs none, and the demo's awssm store points at it.
func TestComposeAWSEmulatorNeedsNoToken(t *testing.T) {
	cf := readCompose(t)
	for name, svc := range cf.Services {
		assert.NotContains(t, svc.Image, "localstack", "service %s: LocalStack wants an account token; use moto", name)
		for key := range svc.Environment {
			assert.NotContains(t, key, "LOCALSTACK", "service %s sets %s", name, key)
		}
	}
	endpoint, err := url.Parse(cf.Services["demo"].Environment["AWS_ENDPOINT_URL_SECRETS_MANAGER"])
	require.NoError(t, err)
	emulator, ok := cf.Services[endpoint.Hostname()]
	require.True(t, ok, "the demo's Secrets Manager endpoint %s is a service of the stack", endpoint)
	assert.True(t, strings.HasPrefix(emulator.Image, "motoserver/moto:5."), "the Secrets Manager emulator is moto 5, got %s", emulator.Image)
	assert.Contains(t, cf.Services["demo"].DependsOn, endpoint.Hostname(), "the demo waits for the emulator")
	for _, env := range []string{"AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} {
		assert.NotEmpty(t, cf.Services["demo"].Environment[env], "the AWS SDK needs %s, even for moto", env)
	}
}

// TestComposeWaitsForHealthyServices: every service another one depends on
// has a healthcheck, every dependency waits for it (service_healthy), and
// no service restarts in a loop until its dependencies answer.
func TestComposeWaitsForHealthyServices(t *testing.T) {
	cf := readCompose(t)
	dependedOn := 0
	for name, svc := range cf.Services {
		assert.Empty(t, svc.Restart, "service %s restarts (%s): wait for healthy dependencies instead", name, svc.Restart)
		for dep, cond := range svc.DependsOn {
			dependedOn++
			target, ok := cf.Services[dep]
			if !assert.True(t, ok, "service %s depends on %s, which is not in the file", name, dep) {
				continue
			}
			assert.Equal(t, "service_healthy", cond.Condition, "service %s waits for %s to be healthy", name, dep)
			if assert.NotNil(t, target.Healthcheck, "service %s depends on %s, which has no healthcheck", name, dep) {
				hc := target.Healthcheck
				assert.False(t, hc.Disable, "service %s's healthcheck is disabled", dep)
				assert.Contains(t, []string{"CMD", "CMD-SHELL"}, firstOr(hc.Test, ""), "service %s's healthcheck runs a command", dep)
				assert.Greater(t, len(hc.Test), 1, "service %s's healthcheck runs a command", dep)
			}
		}
	}
	assert.NotZero(t, dependedOn, "the demo depends on the others")
	assert.Len(t, cf.Services["demo"].DependsOn, len(cf.Services)-1, "the demo waits for every other service")
}

// TestComposeBuildsTheImageOnce: one service builds the project's image and
// names it; every other service that runs the project reuses that image
// without building it again, and starts after the builder.
func TestComposeBuildsTheImageOnce(t *testing.T) {
	cf := readCompose(t)
	builder, image := builtImage(t, cf)
	users := 0
	for name, svc := range cf.Services {
		if name == builder || svc.Image != image {
			continue
		}
		users++
		assert.Nil(t, svc.Build, "service %s builds the image again", name)
		assert.Contains(t, svc.DependsOn, builder, "service %s starts after %s has built the image", name, builder)
	}
	assert.NotZero(t, users, "the demo reuses the image the mock's service builds")
}

func firstOr(s []string, def string) string {
	if len(s) == 0 {
		return def
	}
	return s[0]
}

func assertFlagsAccepted(t *testing.T, service, binary, usage string, args []string) {
	t.Helper()
	for _, arg := range args {
		if flag, ok := strings.CutPrefix(arg, "-"); ok {
			flag, _, _ = strings.Cut(strings.TrimPrefix(flag, "-"), "=")
			assert.Regexp(t, regexp.MustCompile(`(?m)^\s+-`+regexp.QuoteMeta(flag)+`\b`), usage,
				"service %s passes -%s, which %s does not accept", service, flag, binary)
		}
	}
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
	assert.Contains(t, svc.Ports, fmt.Sprintf("127.0.0.1:%s:%s", p, p), "port %s is published on loopback", p)
	host, _, _ := net.SplitHostPort(addr)
	assert.Equal(t, "0.0.0.0", host, "a container listens on every interface of its own network")
}
