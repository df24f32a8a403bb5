package main

import (
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/parlae/sikka-connect/mocksikka"
)

// webhookFlags are the flags of the mock's webhooks. -webhook-url and -webhook-key are
// repeatable and pair by position: the n-th key is the callback key of the n-th URL, so
// their counts must match. Their environment variables hold several values separated by
// spaces (a URL or a key has none).
type webhookFlags struct {
	urls, keys wordList
	refresh    time.Duration
	retry      durationList
	timeout    time.Duration
}

// wordList is a repeatable flag; one value may hold several words separated by spaces.
type wordList []string

// String never shows the values, which may be keys.
func (w *wordList) String() string {
	if len(*w) == 0 {
		return ""
	}
	return fmt.Sprintf("%d value(s)", len(*w))
}

func (w *wordList) Set(v string) error {
	*w = append(*w, strings.Fields(v)...)
	return nil
}

// durationList is a comma-separated list of durations; each Set replaces the list.
type durationList []time.Duration

func (d *durationList) String() string {
	s := make([]string, len(*d))
	for i, v := range *d {
		s[i] = v.String()
	}
	return strings.Join(s, ",")
}

func (d *durationList) Set(v string) error {
	var out durationList
	for _, f := range strings.Split(v, ",") {
		x, err := time.ParseDuration(strings.TrimSpace(f))
		if err != nil {
			return err
		}
		out = append(out, x)
	}
	*d = out
	return nil
}

// register defines the flags on fs.
func (w *webhookFlags) register(fs *flag.FlagSet) {
	w.retry = mocksikka.DefaultWebhookRetryIntervals()
	fs.Var(&w.urls, "webhook-url", "`URL` the default app's (the first configured app's) webhooks are POSTed to; repeatable\n"+
		"    \t(or several separated by spaces), each paired with the -webhook-key in the same position")
	fs.Var(&w.keys, "webhook-key", "callback `key` sent as the callback-key header to the -webhook-url in the same position\n"+
		"    \t(a secret: never logged)")
	fs.DurationVar(&w.refresh, "data-refresh-interval", mocksikka.DefaultDataRefreshInterval,
		"period of the Data_Refresh webhook on the mock clock; 0 turns the schedule off")
	fs.Var(&w.retry, "webhook-retry", "`waits` before webhook retries 1-5 on the mock clock, comma separated (the last repeats);\n"+
		"    \tafter the 5th failed retry the webhook is inactive until POST /_mock/webhooks/reactivate")
	fs.DurationVar(&w.timeout, "webhook-timeout", mocksikka.DefaultWebhookTimeout, "time a webhook target has to answer one attempt")
}

// options returns the options of the flags given.
func (w *webhookFlags) options(given map[string]bool) ([]mocksikka.Option, error) {
	if len(w.urls) != len(w.keys) {
		return nil, fmt.Errorf("%w: %d -webhook-url but %d -webhook-key: give them in pairs, the n-th key for the n-th URL", errUsage, len(w.urls), len(w.keys))
	}
	var c mocksikka.Config
	for i, u := range w.urls {
		c.Webhooks = append(c.Webhooks, mocksikka.Webhook{URL: u, Key: w.keys[i]})
	}
	if given["data-refresh-interval"] {
		c.DataRefreshInterval = new(mocksikka.Duration(w.refresh))
	}
	if given["webhook-retry"] {
		for _, d := range w.retry {
			c.WebhookRetryIntervals = append(c.WebhookRetryIntervals, mocksikka.Duration(d))
		}
	}
	if given["webhook-timeout"] {
		if w.timeout <= 0 {
			return nil, fmt.Errorf("%w: -webhook-timeout must be positive", errUsage)
		}
		c.WebhookTimeout = mocksikka.Duration(w.timeout)
	}
	if err := c.Validate(); err != nil { // never shows a key
		return nil, fmt.Errorf("%w: %v (see the -webhook-* and -data-refresh-interval flags in mocksikka -h)", errUsage, err)
	}
	return c.Options(), nil
}
