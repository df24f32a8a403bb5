package sikka_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"time"

	"github.com/parlae/sikka-connect/mocksikka"
	"github.com/parlae/sikka-connect/sikka"
)

// The callback of the connect flow: trade the code for a request key, then
// read the practice the key was issued to. The mock Sikka runs in-process.
func ExampleClient_ExchangeCode() {
	mock := mocksikka.New()
	srv := httptest.NewServer(mock)
	defer srv.Close()
	// The practice clicked Allow on Sikka's page; Sikka redirected back with a code.
	code, _ := mock.IssueCode(mocksikka.DefaultAppID, mocksikka.DefaultOfficeID)

	c := sikka.New(mocksikka.DefaultAppID, mocksikka.DefaultAppKey, sikka.WithBaseURL(srv.URL))
	ctx := context.Background()

	key, err := c.ExchangeCode(ctx, code)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("issued to:", key.IssuedTo)
	fmt.Println("valid for:", time.Until(key.Expiry).Round(time.Hour))

	practices, err := c.AuthorizedPractices(ctx, key.RequestKey)
	if err != nil {
		fmt.Println(err)
		return
	}
	p, _ := sikka.PrimaryPractice(practices, key.IssuedTo)
	fmt.Printf("Connected to %s (%s)\n", p.Name, p.PMS)

	// A code works once.
	_, err = c.ExchangeCode(ctx, code)
	fmt.Println(errors.Is(err, sikka.ErrInvalidGrant))
	fmt.Println(err)
	// Output:
	// issued to: D36225
	// valid for: 24h0m0s
	// Connected to Happy Dental Clinic (Dentrix)
	// true
	// sikka: ExchangeCode: POST /v4/request_key: 400 Bad Request: Invalid authorization code (API1026)
}

// Keeping a connection alive: refresh before expiry and, when Sikka refuses
// the refresh key, mint a new key from the stored office credentials.
func ExampleClient_RefreshKey() {
	mock := mocksikka.New()
	srv := httptest.NewServer(mock)
	defer srv.Close()
	c := sikka.New(mocksikka.DefaultAppID, mocksikka.DefaultAppKey, sikka.WithBaseURL(srv.URL))
	ctx := context.Background()

	// What the integration stored when the practice connected.
	officeID, secretKey := mocksikka.DefaultOfficeID, mocksikka.DefaultSecretKey
	refreshKey := "a-refresh-key-sikka-no-longer-knows"

	key, err := c.RefreshKey(ctx, refreshKey)
	if errors.Is(err, sikka.ErrUnauthorized) || errors.Is(err, sikka.ErrInvalidGrant) {
		fmt.Println("refresh refused; falling back to the office credentials")
		key, err = c.RequestKey(ctx, officeID, secretKey)
	}
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("new key for", key.IssuedTo, "- refresh within the hour before expiry:",
		key.Expired(time.Now(), time.Hour))
	// Output:
	// refresh refused; falling back to the office credentials
	// new key for D36225 - refresh within the hour before expiry: false
}

func ExampleClient_AuthorizeURL() {
	c := sikka.New("b0cac8c638d52c92f9c0312159fc4518", "app-key")
	fmt.Println(c.AuthorizeURL("https://app.example.com/sikka/callback", "opaque-state"))
	// Output:
	// https://api.sikkasoft.com/portal/authapp.aspx?app_id=b0cac8c638d52c92f9c0312159fc4518&redirect_uri=https%3A%2F%2Fapp.example.com%2Fsikka%2Fcallback&state=opaque-state
}

// Keys and practices print and log with their secrets redacted; the fields
// themselves stay usable.
func ExampleKey_String() {
	key := sikka.Key{RequestKey: "70a2c702705ad41c395f8bd639fa7f85", RefreshKey: "yyyy-yyyy", IssuedTo: "D36225", Status: "active"}
	fmt.Println(key)
	p := sikka.Practice{OfficeID: "D36225", SecretKey: "STc3kSY7S4ORJHb5hE0r5yBwdeCFu7av0ahG9hPlDj0=", Name: "Happy Dental Clinic"}
	fmt.Printf("%+v\n", p)
	fmt.Println(len(key.RequestKey))
	// Output:
	// sikka.Key{RequestKey:"[REDACTED]" RefreshKey:"[REDACTED]" IssuedTo:"D36225" Status:"active" Scope:"" Domain:"" RequestCount:0 StartTime:0 EndTime:0 Expiry:0}
	// sikka.Practice{OfficeID:"D36225" PracticeID:"" SecretKey:"[REDACTED]" Name:"Happy Dental Clinic" PMS:"" PMSRaw:"" PMSVersion:"" Domain:"" Address:"" City:"" State:"" Zip:"" Email:""}
	// 32
}

// Branching on the kind of failure.
func ExampleError() {
	mock := mocksikka.New()
	srv := httptest.NewServer(mock)
	defer srv.Close()
	c := sikka.New(mocksikka.DefaultAppID, mocksikka.DefaultAppKey, sikka.WithBaseURL(srv.URL))
	mock.InjectFault(mocksikka.Fault{Endpoint: "POST /v4/request_key", Count: 1, Status: 503})

	_, err := c.ExchangeCode(context.Background(), "a-code")
	var se *sikka.Error
	switch {
	case errors.Is(err, sikka.ErrInvalidGrant):
		fmt.Println("ask the practice to authorize again")
	case errors.Is(err, sikka.ErrUnavailable) && errors.As(err, &se):
		fmt.Println("Sikka is unavailable:", se.StatusCode, se.Envelope.ShortMessage)
	}
	// Output:
	// Sikka is unavailable: 503 Injected fault: Service Unavailable
}
