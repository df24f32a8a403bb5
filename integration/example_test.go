package integration_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"

	"github.com/parlae/sikka-connect/integration"
	"github.com/parlae/sikka-connect/integration/memory"
	"github.com/parlae/sikka-connect/mocksikka"
	secretmemory "github.com/parlae/sikka-connect/secretstore/memory"
	"github.com/parlae/sikka-connect/sikka"
)

// Connect an account with an authorization code, use its credentials, and
// disconnect it. The mock Sikka stands in for api.sikkasoft.com; in
// production, use postgres.Open for the records and a Vault or Secrets
// Manager store for the credentials.
func Example() {
	ctx := context.Background()
	mock := mocksikka.New()
	srv := httptest.NewServer(mock)
	defer srv.Close()

	svc, err := integration.NewService(integration.Config{
		Sikka:   sikka.New(mocksikka.DefaultAppID, mocksikka.DefaultAppKey, sikka.WithBaseURL(srv.URL)),
		Secrets: secretmemory.New(),
		Records: memory.New(),
	})
	if err != nil {
		fmt.Println("config:", err)
		return
	}

	// The code Sikka's callback brings (here issued by the mock directly).
	code, err := mock.IssueCode(mocksikka.DefaultAppID, mocksikka.DefaultOfficeID)
	if err != nil {
		fmt.Println("code:", err)
		return
	}
	rec, err := svc.Connect(ctx, "acct-42", code)
	if err != nil {
		fmt.Println("connect:", err)
		return
	}
	fmt.Println(rec.Status, rec.PracticeName, rec.PMSType)

	creds, err := svc.Credentials(ctx, "acct-42")
	if err != nil {
		fmt.Println("credentials:", err)
		return
	}
	fmt.Println("office", creds.OfficeID, "key present:", creds.RequestKey != "")
	fmt.Println("printed, the key shows:", strings.Contains(fmt.Sprint(creds), creds.RequestKey))

	if err := svc.Disconnect(ctx, "acct-42"); err != nil {
		fmt.Println("disconnect:", err)
		return
	}
	rec, err = svc.Status(ctx, "acct-42")
	if err != nil {
		fmt.Println("status:", err)
		return
	}
	fmt.Println(rec.Status)
	// Output:
	// ACTIVE Happy Dental Clinic Dentrix
	// office D36225 key present: true
	// printed, the key shows: false
	// REVOKED
}

// Connect a practice that onboarded through the Sikka Marketplace: the
// account names its office id and proves it owns it with the practice's
// secret key. A wrong key is refused, and after 5 refusals in 15 minutes
// further attempts are refused unchecked.
func ExampleService_ConnectOffice() {
	ctx := context.Background()
	srv := httptest.NewServer(mocksikka.New()) // lists its offices for the default app
	defer srv.Close()
	svc, err := integration.NewService(integration.Config{
		Sikka:   sikka.New(mocksikka.DefaultAppID, mocksikka.DefaultAppKey, sikka.WithBaseURL(srv.URL)),
		Secrets: secretmemory.New(),
		Records: memory.New(),
	})
	if err != nil {
		fmt.Println("config:", err)
		return
	}

	_, err = svc.ConnectOffice(ctx, "acct-42", mocksikka.DefaultOfficeID, "not the key")
	fmt.Println(errors.Is(err, integration.ErrInvalidProof))
	_, err = svc.ConnectOffice(ctx, "acct-42", "D00000", mocksikka.DefaultSecretKey)
	fmt.Println(errors.Is(err, integration.ErrOfficeNotAuthorized))

	rec, err := svc.ConnectOffice(ctx, "acct-42", mocksikka.DefaultOfficeID, mocksikka.DefaultSecretKey)
	if err != nil {
		fmt.Println("connect:", err)
		return
	}
	fmt.Println(rec.Status, rec.PracticeName, rec.PMSType)
	// Output:
	// true
	// true
	// ACTIVE Happy Dental Clinic Dentrix
}
