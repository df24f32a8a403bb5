package middleware_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parlae/sikka-connect/integration"
)

// The status JSON shows the last data refresh Sikka reported (the webhook
// package records it through Service.RecordDataRefresh), and omits it before
// the first.
func TestStatusShowsLastDataRefresh(t *testing.T) {
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			w := newWorld(t, backend)
			b := w.browser(acct1)
			b.connect()
			body, raw := b.statusJSON(http.StatusOK)
			require.True(t, body.Connected)
			assert.Nil(t, body.LastDataRefresh)
			assert.NotContains(t, raw, "lastDataRefresh", "absent before the first report")
			assert.NotContains(t, raw, "nextDataSync")
			assert.NotContains(t, raw, "pmsVersion")

			next := time.Date(2019, 12, 10, 21, 15, 0, 0, time.UTC)
			rec, err := w.svc.RecordDataRefresh(context.Background(), office, integration.DataRefresh{NextSync: next, PMSVersion: "V16.6"})
			require.NoError(t, err)
			body, _ = b.statusJSON(http.StatusOK)
			require.NotNil(t, body.LastDataRefresh)
			assert.Equal(t, rec.LastDataRefresh, *body.LastDataRefresh)
			assert.WithinDuration(t, time.Now(), *body.LastDataRefresh, time.Minute, "the service's clock at receipt")
			require.NotNil(t, body.NextDataSync)
			assert.Equal(t, next, *body.NextDataSync)
			assert.Equal(t, "V16.6", body.PMSVersion)
		})
	}
}
