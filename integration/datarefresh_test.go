package integration_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parlae/sikka-connect/integration"
)

// A data refresh lands on the account connected to the office, stamped by
// the service's clock; a reconnect of the same office (through the real
// connect path) keeps it, and once the account disconnects the office is
// nobody's.
func TestRecordDataRefresh(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			e := newEnv(t, b)
			ctx := context.Background()
			at := time.Date(2026, 11, 30, 14, 0, 0, 0, time.UTC)
			svc := e.service(integration.Config{Now: func() time.Time { return at }})
			refresh := integration.DataRefresh{NextSync: at.Add(25 * time.Minute), PMSVersion: "V16.6"}

			_, err := svc.RecordDataRefresh(ctx, office, refresh)
			assert.ErrorIs(t, err, integration.ErrNotFound, "nobody holds the office yet")
			_, err = svc.RecordDataRefresh(ctx, "", refresh)
			assert.ErrorIs(t, err, integration.ErrNotFound)

			_, err = svc.Connect(ctx, "acct-1", e.code())
			require.NoError(t, err)
			rec, err := svc.ActiveByOffice(ctx, office)
			require.NoError(t, err)
			assert.Equal(t, "acct-1", rec.AccountID)

			rec, err = svc.RecordDataRefresh(ctx, office, refresh)
			require.NoError(t, err)
			assert.Equal(t, "acct-1", rec.AccountID)
			assert.Equal(t, at, rec.LastDataRefresh)
			assert.Equal(t, refresh.NextSync, rec.NextDataSync)
			assert.Equal(t, "V16.6", rec.PMSVersion)

			_, err = svc.Connect(ctx, "acct-1", e.code())
			require.NoError(t, err)
			rec, err = svc.Status(ctx, "acct-1")
			require.NoError(t, err)
			assert.Equal(t, at, rec.LastDataRefresh, "a reconnect of the same office keeps it")
			assert.Equal(t, "V16.6", rec.PMSVersion)

			require.NoError(t, svc.Disconnect(ctx, "acct-1"))
			_, err = svc.RecordDataRefresh(ctx, office, refresh)
			assert.ErrorIs(t, err, integration.ErrNotFound, "a disconnected office is nobody's")
			_, err = svc.ActiveByOffice(ctx, office)
			assert.ErrorIs(t, err, integration.ErrNotFound)
		})
	}
}
