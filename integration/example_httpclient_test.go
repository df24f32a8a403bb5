package integration_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"time"

	"github.com/parlae/sikka-connect/integration"
	"github.com/parlae/sikka-connect/integration/memory"
	"github.com/parlae/sikka-connect/mocksikka"
	secretmemory "github.com/parlae/sikka-connect/secretstore/memory"
	"github.com/parlae/sikka-connect/sikka"
)

// Call Sikka as a connected account: the account's client adds its
// Request-Key (renewing it when due), and sends nothing to any other host.
// Run is the host's background work, in one goroutine per replica.
func ExampleService_HTTPClient() {
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	mock := mocksikka.New()
	srv := httptest.NewServer(mock) // stands in for https://api.sikkasoft.com
	defer srv.Close()
	svc, err := integration.NewService(integration.Config{
		Sikka:   sikka.New(mocksikka.DefaultAppID, mocksikka.DefaultAppKey, sikka.WithBaseURL(srv.URL)),
		Secrets: secretmemory.New(),
		Records: memory.New(),
		Now:     mock.Now, // the mock's clock, moved on below
	})
	if err != nil {
		fmt.Println("config:", err)
		return
	}
	go svc.Run(ctx) // refresh sweeps and the reconciler until ctx ends

	code, _ := mock.IssueCode(mocksikka.DefaultAppID, mocksikka.DefaultOfficeID)
	if _, err := svc.Connect(ctx, "acct-42", code); err != nil {
		fmt.Println("connect:", err)
		return
	}

	hc := svc.HTTPClient("acct-42")
	resp, err := hc.Get(srv.URL + "/v4/practices")
	if err != nil {
		fmt.Println("get:", err)
		return
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, len(body) > 0)

	// A day later the key has expired: the call renews it first.
	mock.Advance(25 * time.Hour)
	resp, err = hc.Get(srv.URL + "/v4/practices")
	if err != nil {
		fmt.Println("get:", err)
		return
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode, "refresh grants:", mock.Count("POST /v4/request_key", "refresh_key"))

	// Another host never gets the key.
	_, err = hc.Get("https://elsewhere.example/v4/practices")
	fmt.Println(errors.Is(err, integration.ErrForeignHost))
	// Output:
	// 200 true
	// 200 refresh grants: 1
	// true
}
