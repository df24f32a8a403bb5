package main

import (
	"errors"
	"net"
	"strings"

	"github.com/parlae/sikka-connect/internal/serve"
	"github.com/parlae/sikka-connect/mocksikka"
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

// mockWebhookURL is where the in-process mock posts its webhooks: the demo's
// own listener, addr (an unspecified host reached on loopback), followed by
// webhookPath. Not -public-url: that may name a proxy or a host only
// browsers resolve, while the listener is always reachable in-process.
func mockWebhookURL(addr net.Addr) string { return serve.LocalURL(addr) + webhookPath }

// sendMockWebhooks makes the in-process mock send Sikka's webhooks of appID
// (Data_Refresh on its schedule and when triggered, and the data-change
// events) to the demo's own receiver, with key, the first of -webhook-keys,
// as callback key. The mock refusing the target (an -app-id it does not
// know) is logged, not fatal: the demo runs without webhooks then. The key
// is never logged.
func (a *app) sendMockWebhooks(appID, key string) {
	url := mockWebhookURL(a.listener.Addr())
	if _, err := a.sikkaMock.AddWebhook(mocksikka.Webhook{AppID: appID, URL: url, Key: key}); err != nil {
		a.log.Warn("sikka-demo: the in-process mock sends no webhooks (give the mock's app with -app-id, or leave it unset)", "error", err)
		return
	}
	a.log.Info("sikka-demo: the in-process mock sends its webhooks to the demo", "url", url,
		"data_refresh_every", a.sikkaMock.WebhookSettings().DataRefreshInterval.String())
}
