package secretstore_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/parlae/sikka-connect/secretstore"
	"github.com/parlae/sikka-connect/secretstore/memory"
)

// The dual write of a connect: the secret first, then the record; a failed
// record write undoes the secret write with the Receipt.
func Example() {
	ctx := context.Background()
	store := memory.New()
	creds := secretstore.Credentials{
		OfficeID: "D36225", SecretKey: "s3cr3t", RequestKey: "rk", RefreshKey: "rf",
		TokenExpiry:  time.Date(2026, 2, 11, 4, 0, 28, 0, time.UTC),
		PracticeName: "Happy Dental Clinic", PracticeID: "1-1", PMSType: "Dentrix",
	}
	name, err := secretstore.DefaultNameTemplate.Name("account_abc123")
	if err != nil {
		panic(err)
	}
	rcpt, err := store.Put(ctx, name, creds)
	if err != nil {
		panic(err)
	}
	fmt.Println(rcpt.Ref, rcpt.Previous == "")

	saveRecord := func(ref string) error { return errors.New("database is down") }
	if err := saveRecord(rcpt.Ref); err != nil {
		var undo error
		if rcpt.Previous == "" {
			undo = store.Delete(ctx, rcpt.Ref)
		} else {
			undo = store.Restore(ctx, rcpt.Ref, rcpt.Previous)
		}
		if errors.Is(undo, secretstore.ErrNotFound) {
			undo = nil
		}
		fmt.Println("undone:", undo == nil)
	}
	_, err = store.Get(ctx, name)
	fmt.Println(errors.Is(err, secretstore.ErrNotFound))

	// Printing or logging credentials is safe.
	fmt.Println(creds)
	// Output:
	// memory:parlae/pms/sikka/account_abc123 true
	// undone: true
	// true
	// {OfficeID:D36225 SecretKey:[REDACTED] RequestKey:[REDACTED] RefreshKey:[REDACTED] TokenExpiry:2026-02-11T04:00:28Z PracticeName:Happy Dental Clinic PracticeID:1-1 PMSType:Dentrix}
}
