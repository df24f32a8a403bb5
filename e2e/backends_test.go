package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	vaultapi "github.com/hashicorp/vault/api"
	"github.com/jmoiron/sqlx"
	"github.com/sivchari/kumo"
	"github.com/stretchr/testify/require"

	"github.com/parlae/sikka-connect/internal/pgtest"
)

// The flow runs three times: on the embedded defaults, and on real
// PostgreSQL with each real secret store.

func TestFlowMemory(t *testing.T) {
	mock := startMock(t)
	d := startDemo(t, nil, "-sikka-url", mock.URL)
	walkFlow(t, d, mock, nil)
}

func TestFlowPostgresVault(t *testing.T) {
	addr, token := os.Getenv("SIKKA_TEST_VAULT_ADDR"), os.Getenv("SIKKA_TEST_VAULT_TOKEN")
	if addr == "" || token == "" {
		t.Skip("SIKKA_TEST_VAULT_ADDR not set: run scripts/test.sh, which starts a real Vault dev server")
	}
	dbURL := pgtest.URL(t)
	prefix := "e2e-" + randomHex(t)
	mock := startMock(t)
	d := startDemo(t, []string{
		"SIKKA_SECRETS=vault", "VAULT_ADDR=" + addr, "VAULT_TOKEN=" + token, "SIKKA_VAULT_PREFIX=" + prefix,
		"DATABASE_URL=" + dbURL,
	}, "-sikka-url", mock.URL)

	client, err := vaultapi.NewClient(&vaultapi.Config{Address: addr})
	require.NoError(t, err)
	client.SetToken(token)
	st := &storesOn{t: t, db: openDB(t, dbURL), secret: func(account string) (map[string]any, string, error) {
		path := prefix + "/parlae/pms/sikka/" + account
		s, err := client.KVv2("secret").Get(context.Background(), path)
		if errors.Is(err, vaultapi.ErrSecretNotFound) {
			return nil, "", errNoSecret
		}
		if err != nil {
			return nil, "", err
		}
		return s.Data, "secret/data/" + path, nil
	}}
	walkFlow(t, d, mock, st)
}

func TestFlowPostgresSecretsManager(t *testing.T) {
	dbURL := pgtest.URL(t)
	emulator := kumo.NewServer()
	t.Cleanup(emulator.Close)
	mock := startMock(t)
	d := startDemo(t, []string{
		"SIKKA_SECRETS=awssm", "AWS_ENDPOINT_URL_SECRETS_MANAGER=" + emulator.URL, "AWS_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=AKIDE2E", "AWS_SECRET_ACCESS_KEY=e2e-secret", "SIKKA_AWSSM_FORCE_DELETE=true",
		"DATABASE_URL=" + dbURL,
	}, "-sikka-url", mock.URL)

	sm := secretsmanager.New(secretsmanager.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(emulator.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDE2E", "e2e-secret", ""),
	})
	st := &storesOn{t: t, db: openDB(t, dbURL), secret: func(account string) (map[string]any, string, error) {
		out, err := sm.GetSecretValue(context.Background(), &secretsmanager.GetSecretValueInput{
			SecretId: aws.String("parlae/pms/sikka/" + account),
		})
		var notFound *smtypes.ResourceNotFoundException
		if errors.As(err, &notFound) {
			return nil, "", errNoSecret
		}
		if err != nil {
			return nil, "", err
		}
		var fields map[string]any
		if err := json.Unmarshal([]byte(aws.ToString(out.SecretString)), &fields); err != nil {
			return nil, "", err
		}
		return fields, aws.ToString(out.ARN), nil
	}}
	walkFlow(t, d, mock, st)
}

var errNoSecret = errors.New("no such secret")

// storesOn reads a real database and a real secret store.
type storesOn struct {
	t      *testing.T
	db     *sqlx.DB
	secret func(account string) (fields map[string]any, ref string, err error)
}

func (s *storesOn) secretFields(t *testing.T, account string) (map[string]string, string, bool) {
	t.Helper()
	raw, ref, err := s.secret(account)
	if errors.Is(err, errNoSecret) {
		return nil, "", false
	}
	require.NoError(t, err)
	fields := map[string]string{}
	for k, v := range raw {
		fields[k] = fmt.Sprint(v)
	}
	return fields, ref, true
}

func (s *storesOn) record(t *testing.T, account string) map[string]string {
	t.Helper()
	var rows []string
	require.NoError(t, s.db.Select(&rows, `SELECT row_to_json(p)::text FROM pms_integrations p WHERE account_id = $1`, account))
	if len(rows) == 0 {
		return nil
	}
	var raw map[string]any
	require.NoError(t, json.Unmarshal([]byte(rows[0]), &raw))
	row := map[string]string{}
	for k, v := range raw {
		row[k] = fmt.Sprint(v)
	}
	return row
}

func (s *storesOn) recordColumns(t *testing.T) []string {
	t.Helper()
	var cols []string
	require.NoError(t, s.db.Select(&cols, `SELECT column_name FROM information_schema.columns
		WHERE table_name = 'pms_integrations' AND table_schema = current_schema()`))
	require.NotEmpty(t, cols)
	return cols
}

func openDB(t *testing.T, url string) *sqlx.DB {
	db, err := sqlx.Open("postgres", url)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, db.PingContext(ctx))
	return db
}

func randomHex(t *testing.T) string {
	b := make([]byte, 6)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return hex.EncodeToString(b)
}
