// Package secretstore keeps the Sikka credentials of connected practices in
// a secret store, behind a small Store interface in the spirit of
// alexedwards/scs.
//
// Backends live in their own packages, named after what they talk to:
//
//   - secretstore/memory: in-process, for the demo and unit tests;
//   - secretstore/vault: HashiCorp Vault KV v2;
//   - secretstore/awssm: AWS Secrets Manager.
//
// Every backend passes the shared contract suite in secretstore/storetest.
//
// # Names
//
// A secret's name comes from a NameTemplate, by default
// "parlae/pms/sikka/{accountId}". Account ids and names are validated
// (ValidateAccountID, ValidateName) before they reach a backend; a rejected
// one gives ErrInvalidName.
//
// # Values
//
// Credentials is the value. Its String, GoString, Format, MarshalJSON and
// LogValue redact the secret key, request key and refresh key, so printing
// or logging it is safe. The stored form is made only by EncodeCredentials
// (JSON with the field names officeId, secretKey, requestKey, refreshKey,
// tokenExpiry, practiceName, practiceId, pmsType) and read by
// DecodeCredentials. No error of this package or its backends carries a
// secret value.
//
// # Dual write
//
// The secret is written first, then the database record. If the record
// fails, undo the secret write with the Receipt:
//
//	name, err := secretstore.DefaultNameTemplate.Name(accountID)
//	if err != nil {
//		return err // ErrInvalidName
//	}
//	rcpt, err := store.Put(ctx, name, creds)
//	if err != nil {
//		return err
//	}
//	if err := saveRecord(ctx, rcpt.Ref); err != nil {
//		var undo error
//		if rcpt.Previous == "" {
//			undo = store.Delete(ctx, rcpt.Ref)
//		} else {
//			undo = store.Restore(ctx, rcpt.Ref, rcpt.Previous)
//		}
//		if errors.Is(undo, secretstore.ErrNotFound) {
//			undo = nil // already gone
//		}
//		return errors.Join(err, undo)
//	}
//
// Missing secrets are always ErrNotFound, never a zero value with a nil
// error.
package secretstore
