// Package awssm is a secretstore.Store on AWS Secrets Manager, through
// aws-sdk-go-v2.
//
//	awsCfg, err := config.LoadDefaultConfig(ctx) // region, credentials chain
//	client := secretsmanager.NewFromConfig(awsCfg)
//	store, err := awssm.New(client, awssm.Config{
//		KMSKeyID: "alias/sikka",
//		Tags:     map[string]string{"app": "parlae"},
//	})
//
// or simply awssm.NewFromEnv(ctx). For a local endpoint (LocalStack, kumo)
// set the client's BaseEndpoint, or AWS_ENDPOINT_URL_SECRETS_MANAGER.
//
// A secret's reference is its ARN. The value is the JSON of
// secretstore.EncodeCredentials in SecretString. Versions are Secrets
// Manager version ids: Put creates the secret (CreateSecret) or adds a
// version (PutSecretValue; the old AWSCURRENT becomes AWSPREVIOUS and is
// Receipt.Previous); Restore reads an old version and puts its value again.
// Delete schedules the deletion with a recovery window (default 30 days) or
// forces it. See Store for how far IfVersion holds.
//
// The IAM principal needs secretsmanager:CreateSecret, GetSecretValue,
// PutSecretValue, DescribeSecret, DeleteSecret, RestoreSecret and TagResource
// (for tags at creation) on arn:aws:secretsmanager:*:*:secret:parlae/pms/sikka/*,
// and kms:Encrypt/Decrypt/GenerateDataKey on KMSKeyID when set.
package awssm
