package webhook_test

import (
	"context"
	"log"
	"net/http"
	"os"

	"github.com/parlae/sikka-connect/integration"
	"github.com/parlae/sikka-connect/webhook"
)

// A host mounts the receiver at the URL it registered with Sikka, with the
// callback key it set there (two while rotating it), and queues the
// data-change events for its own sync jobs.
func Example() {
	var svc *integration.Service // the host's service (integration.NewService)
	rcv, err := webhook.New(webhook.Config{
		Service: svc,
		Keys:    []string{os.Getenv("SIKKA_WEBHOOK_KEY")},
		OnEvent: func(ctx context.Context, e webhook.Event) {
			// Runs after the answer to Sikka, in a goroutine of its own.
			log.Printf("sync %s of account %s", e.Type, e.AccountID)
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	http.Handle("/sikka/webhook", rcv) // it answers 405 to other methods itself
}
