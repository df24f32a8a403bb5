// Package metrics is an optional Prometheus collector for the connect flow
// and the key refreshes. It lives apart from middleware so that hosts that
// do not use Prometheus do not link its client.
//
//	m := metrics.New()
//	prometheus.MustRegister(m)
//	cfg.Hooks = m.Hooks(cfg.Hooks)                       // middleware.Config
//	svcCfg.Hooks = m.IntegrationHooks(svcCfg.Hooks)     // integration.Config
//
// Metrics (every label value from a fixed set, so cardinality stays small):
//
//	sikka_connect_flows_started_total                      flows the start route sent to Sikka
//	sikka_connect_callbacks_total{status,reason}           callback outcomes (reason "" unless status="error")
//	sikka_connect_callback_duration_seconds{status}        callback latency, Sikka calls included
//	sikka_connect_refreshes_total{result}                  key refreshes: refreshed, needs_reauth
package metrics

import (
	"context"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parlae/sikka-connect/integration"
	"github.com/parlae/sikka-connect/middleware"
)

// Refresh results counted by IntegrationHooks; ObserveRefresh takes these
// or any other small fixed set.
const (
	RefreshRefreshed   = "refreshed"
	RefreshNeedsReauth = "needs_reauth"
	RefreshFailed      = "failed"
)

// Buckets returns the buckets of the callback latency histogram, in seconds
// (a new slice each call, so no caller changes them for others): a callback makes
// two Sikka calls and two writes, and the Sikka client allows 10s per try.
func Buckets() []float64 {
	return []float64{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}
}

// Collector holds the metrics; register it with a prometheus.Registerer.
// Safe for concurrent use.
type Collector struct {
	started   prometheus.Counter
	callbacks *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	refreshes *prometheus.CounterVec
}

var _ prometheus.Collector = (*Collector)(nil)

// New returns a Collector with every known series at zero (each outcome,
// each refresh result), so that rates and alerts work from the start.
func New() *Collector {
	c := &Collector{
		started: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sikka_connect_flows_started_total",
			Help: "Connect flows the start route sent to Sikka.",
		}),
		callbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sikka_connect_callbacks_total",
			Help: "Callback outcomes, by status and reason (reason is empty unless status is error).",
		}, []string{"status", "reason"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "sikka_connect_callback_duration_seconds",
			Help:    "Time to answer a callback, Sikka calls included, by status.",
			Buckets: Buckets(),
		}, []string{"status"}),
		refreshes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sikka_connect_refreshes_total",
			Help: "Request-key refreshes, by result.",
		}, []string{"result"}),
	}
	c.callbacks.WithLabelValues(middleware.StatusSuccess, "")
	c.callbacks.WithLabelValues(middleware.StatusCancelled, "")
	for _, r := range []string{middleware.ReasonInvalidCode, middleware.ReasonInvalidState, middleware.ReasonAlreadyConnected,
		middleware.ReasonProviderUnavailable, middleware.ReasonInternal} {
		c.callbacks.WithLabelValues(middleware.StatusError, r)
	}
	for _, s := range []string{middleware.StatusSuccess, middleware.StatusCancelled, middleware.StatusError} {
		c.latency.WithLabelValues(s)
	}
	c.refreshes.WithLabelValues(RefreshRefreshed)
	c.refreshes.WithLabelValues(RefreshNeedsReauth)
	c.refreshes.WithLabelValues(RefreshFailed)
	return c
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	c.started.Describe(ch)
	c.callbacks.Describe(ch)
	c.latency.Describe(ch)
	c.refreshes.Describe(ch)
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	c.started.Collect(ch)
	c.callbacks.Collect(ch)
	c.latency.Collect(ch)
	c.refreshes.Collect(ch)
}

// Hooks returns next with the flow metrics added: each hook counts, then
// calls next's hook of the same name, if any.
func (c *Collector) Hooks(next middleware.Hooks) middleware.Hooks {
	return middleware.Hooks{
		Started: func(r *http.Request, accountID string) {
			c.started.Inc()
			if next.Started != nil {
				next.Started(r, accountID)
			}
		},
		Finished: func(r *http.Request, o middleware.Outcome) {
			c.ObserveCallback(o)
			if next.Finished != nil {
				next.Finished(r, o)
			}
		},
	}
}

// ObserveCallback counts one callback outcome and its duration. Hooks calls
// it; it is exported for hosts that compose hooks themselves.
func (c *Collector) ObserveCallback(o middleware.Outcome) {
	c.callbacks.WithLabelValues(o.Status, o.Reason).Inc()
	c.latency.WithLabelValues(o.Status).Observe(o.Duration.Seconds())
}

// IntegrationHooks returns next with refreshes counted: Refreshed counts
// RefreshRefreshed, NeedsReauth RefreshNeedsReauth and RefreshFailed
// RefreshFailed, each then calling next's hook. Connected and Disconnected
// are next's.
func (c *Collector) IntegrationHooks(next integration.Hooks) integration.Hooks {
	h := next
	h.Refreshed = func(ctx context.Context, r integration.Record) {
		c.ObserveRefresh(RefreshRefreshed)
		if next.Refreshed != nil {
			next.Refreshed(ctx, r)
		}
	}
	h.RefreshFailed = func(ctx context.Context, r integration.Record, err error) {
		c.ObserveRefresh(RefreshFailed)
		if next.RefreshFailed != nil {
			next.RefreshFailed(ctx, r, err)
		}
	}
	h.NeedsReauth = func(ctx context.Context, r integration.Record, cause error) {
		c.ObserveRefresh(RefreshNeedsReauth)
		if next.NeedsReauth != nil {
			next.NeedsReauth(ctx, r, cause)
		}
	}
	return h
}

// ObserveRefresh counts one refresh with result, which should come from a
// small fixed set (RefreshRefreshed, RefreshNeedsReauth, RefreshFailed, or
// the host's own).
func (c *Collector) ObserveRefresh(result string) {
	c.refreshes.WithLabelValues(result).Inc()
}
