package main

import (
	"errors"
	"strings"

	"github.com/parlae/sikka-connect/webhook"
)

// webhookPath is where the demo receives Sikka's webhooks: the URL to
// register with Sikka is the public URL followed by it.
const webhookPath = "/sikka/webhook"

// defaultWebhookKey is the demo's callback key when -webhook-keys is not
// given: demo only, like the demo's sign-in; a real host sets its own.
const defaultWebhookKey = "sikka-demo-webhook-key"

// splitKeys reads -webhook-keys: comma-separated, none empty.
func splitKeys(v string) ([]string, error) {
	var keys []string
	for _, k := range strings.Split(v, ",") {
		if k = strings.TrimSpace(k); k == "" {
			return nil, errors.New("-webhook-keys: an empty key; want key[,key…] (the callback key set for the webhook at Sikka)")
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// newWebhookReceiver is the receiver the demo mounts at webhookPath: it
// records Data_Refresh (the setup page shows the last refresh) and logs the
// other events (the receiver logs every delivery it accepts).
func (a *app) newWebhookReceiver(keys []string) (*webhook.Receiver, error) {
	return webhook.New(webhook.Config{Service: a.svc, Keys: keys, Logger: a.log})
}
