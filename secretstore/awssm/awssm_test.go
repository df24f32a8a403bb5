package awssm_test

// The tests that need a Secrets Manager (the secretstore contract suite, the
// leak scan, KMS keys and tags, AWSPREVIOUS, recovery windows, the SDK's
// default chain) run against kumo, an in-process AWS emulator, in the e2e
// module: e2e/awssm. kumo stays out of this module's graph, so out of its
// users' graphs.

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parlae/sikka-connect/secretstore/awssm"
)

// client is the real SDK client pointed at endpoint with static credentials.
func client(endpoint string) *secretsmanager.Client {
	return secretsmanager.New(secretsmanager.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDTEST", "test-secret", ""),
	})
}

func TestConfig(t *testing.T) {
	_, err := awssm.New(nil, awssm.Config{})
	assert.Error(t, err)
	for _, days := range []int64{-1, 6, 31} {
		_, err = awssm.New(client("http://127.0.0.1:1"), awssm.Config{RecoveryWindowDays: days})
		assert.Error(t, err, days)
	}
	t.Setenv("SIKKA_AWSSM_KMS_KEY_ID", "alias/k")
	t.Setenv("SIKKA_AWSSM_TAGS", "app=parlae, env = prod")
	t.Setenv("SIKKA_AWSSM_RECOVERY_WINDOW_DAYS", "7")
	t.Setenv("SIKKA_AWSSM_FORCE_DELETE", "false")
	t.Setenv("SIKKA_AWSSM_TIMEOUT", "3s")
	cfg, err := awssm.ConfigFromEnv()
	require.NoError(t, err)
	assert.Equal(t, awssm.Config{KMSKeyID: "alias/k", Tags: map[string]string{"app": "parlae", "env": "prod"},
		RecoveryWindowDays: 7, Timeout: 3 * time.Second}, cfg)
	for k, v := range map[string]string{"SIKKA_AWSSM_TAGS": "novalue", "SIKKA_AWSSM_RECOVERY_WINDOW_DAYS": "x",
		"SIKKA_AWSSM_FORCE_DELETE": "maybe", "SIKKA_AWSSM_TIMEOUT": "-1s"} {
		t.Run(k, func(t *testing.T) {
			t.Setenv(k, v)
			_, err := awssm.ConfigFromEnv()
			assert.Error(t, err)
		})
	}
}
