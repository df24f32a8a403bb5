package mocksikka

import (
	"fmt"
	"net/http"
	"time"
)

// webhookRoutes are the admin routes of the webhooks, under /_mock/webhooks.
func (s *Server) webhookRoutes() map[string]map[string]route {
	adm := func(h func(*call)) route { return route{handle: h, admin: true} }
	return map[string]map[string]route{
		"/_mock/webhooks":            {"GET": adm(s.adminWebhooks), "POST": adm(s.adminAddWebhook), "DELETE": adm(s.adminRemoveWebhook)},
		"/_mock/webhooks/reactivate": {"POST": adm(s.adminReactivateWebhook)},
		"/_mock/webhooks/trigger":    {"POST": adm(s.adminTriggerWebhook)},
		"/_mock/webhooks/deliveries": {"GET": adm(s.adminWebhookDeliveries)},
		"/_mock/webhooks/settings":   {"GET": adm(s.adminWebhookSettings), "PUT": adm(s.adminPutWebhookSettings)},
	}
}

func (s *Server) adminWebhooks(c *call) { c.json(http.StatusOK, s.Webhooks()) }

func (s *Server) adminAddWebhook(c *call) {
	var w Webhook
	if !c.decodeAdmin(&w) {
		return
	}
	st, err := s.AddWebhook(w)
	if err != nil {
		c.adminFail(err)
		return
	}
	c.json(http.StatusCreated, st)
}

// webhookID is the body of DELETE /_mock/webhooks and POST /_mock/webhooks/reactivate; no
// id means every target.
type webhookID struct {
	ID string `json:"id"`
}

func (s *Server) adminRemoveWebhook(c *call) {
	var in webhookID
	if !c.decodeAdmin(&in) {
		return
	}
	if err := s.RemoveWebhook(in.ID); err != nil {
		c.adminFail(err)
		return
	}
	c.json(http.StatusOK, s.Webhooks())
}

func (s *Server) adminReactivateWebhook(c *call) {
	var in webhookID
	if !c.decodeAdmin(&in) {
		return
	}
	if err := s.ReactivateWebhook(in.ID); err != nil {
		c.adminFail(err)
		return
	}
	c.json(http.StatusOK, s.Webhooks())
}

func (s *Server) adminTriggerWebhook(c *call) {
	var in struct {
		Event      string `json:"event"`
		OfficeID   string `json:"office_id"`
		PracticeID string `json:"practice_id"`
	}
	if !c.decodeAdmin(&in) {
		return
	}
	if in.Event == "" || in.OfficeID == "" {
		c.adminFail(fmt.Errorf(`give event and office_id, e.g. {"event":"Data_Refresh","office_id":"D36225"}: %w`, ErrInvalid))
		return
	}
	ds, err := s.TriggerWebhook(in.Event, in.OfficeID, in.PracticeID)
	if err != nil {
		c.adminFail(err)
		return
	}
	c.json(http.StatusAccepted, ds)
}

func (s *Server) adminWebhookDeliveries(c *call) { c.json(http.StatusOK, s.WebhookDeliveries()) }

// webhookSettingsJSON is the body of GET and PUT /_mock/webhooks/settings; in a PUT, absent
// fields are unchanged.
type webhookSettingsJSON struct {
	DataRefreshInterval *Duration  `json:"data_refresh_interval,omitempty"`
	RetryIntervals      []Duration `json:"retry_intervals,omitempty"`
	Timeout             *Duration  `json:"timeout,omitempty"`
}

func (s *Server) adminWebhookSettings(c *call) {
	ws := s.WebhookSettings()
	out := webhookSettingsJSON{DataRefreshInterval: new(Duration(ws.DataRefreshInterval)), Timeout: new(Duration(ws.Timeout))}
	for _, d := range ws.RetryIntervals {
		out.RetryIntervals = append(out.RetryIntervals, Duration(d))
	}
	c.json(http.StatusOK, out)
}

func (s *Server) adminPutWebhookSettings(c *call) {
	var in webhookSettingsJSON
	if !c.decodeAdmin(&in) {
		return
	}
	ws := s.WebhookSettings()
	if in.DataRefreshInterval != nil {
		ws.DataRefreshInterval = time.Duration(*in.DataRefreshInterval)
	}
	if in.RetryIntervals != nil {
		ws.RetryIntervals = ws.RetryIntervals[:0]
		for _, d := range in.RetryIntervals {
			ws.RetryIntervals = append(ws.RetryIntervals, time.Duration(d))
		}
	}
	if in.Timeout != nil {
		ws.Timeout = time.Duration(*in.Timeout)
	}
	if err := s.SetWebhookSettings(ws); err != nil {
		c.adminFail(err)
		return
	}
	s.adminWebhookSettings(c)
}

// webhookOptions are the options of c's webhook fields.
func (c Config) webhookOptions() []Option {
	var opts []Option
	if len(c.Webhooks) > 0 {
		opts = append(opts, WithWebhooks(c.Webhooks...))
	}
	if c.DataRefreshInterval != nil {
		opts = append(opts, WithDataRefreshInterval(time.Duration(*c.DataRefreshInterval)))
	}
	if c.WebhookRetryIntervals != nil {
		ds := make([]time.Duration, len(c.WebhookRetryIntervals))
		for i, d := range c.WebhookRetryIntervals {
			ds[i] = time.Duration(d)
		}
		opts = append(opts, WithWebhookRetryIntervals(ds...))
	}
	if c.WebhookTimeout != 0 {
		opts = append(opts, WithWebhookTimeout(time.Duration(c.WebhookTimeout)))
	}
	return opts
}
