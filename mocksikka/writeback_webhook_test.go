package mocksikka_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/parlae/sikka-connect/mocksikka"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A writeback the SPU completes changes the data, and the change is announced by the webhook of
// its kind (appointments, patient), with the office and practice; nothing is sent while the
// writeback is pending, nor for one that failed.
func TestWritebackCompletionSendsWebhook(t *testing.T) {
	rcv := newReceiver(t, always(200))
	e := newWBEnv(t, mocksikka.WithWebhooks(rcv.webhook("appointments", "patient")))

	booking := e.booking("10:00")
	e.accepted("POST", "/v4/appointment", booking, "API2016")
	rcv.quiet(t, 0, "nothing is announced while the writeback is pending")

	e.mock.Advance(30 * time.Second)
	got := rcv.wait(t, 1)
	var ev map[string]any
	require.NoError(t, json.Unmarshal(got[0].body, &ev), "body: %s", got[0].body)
	assert.Equal(t, "appointments", ev["event"])
	assert.Equal(t, mocksikka.DefaultOfficeID, ev["office_id"])
	assert.Equal(t, "1", ev["practice_id"])
	assert.Equal(t, hookKey, got[0].header.Get("callback-key"))

	e.accepted("POST", "/v4/patient", map[string]string{"firstname": "Ada", "lastname": "Lovelace",
		"birthdate": "1990-12-10", "provider_id": booking["provider_id"], "practice_id": "1"}, "API2016")
	e.mock.Advance(30 * time.Second)
	got = rcv.wait(t, 2)
	require.NoError(t, json.Unmarshal(got[1].body, &ev))
	assert.Equal(t, "patient", ev["event"])

	// The same slot again: the SPU fails the double booking, and the data did not change.
	e.accepted("POST", "/v4/appointment", booking, "API2016")
	e.mock.Advance(30 * time.Second)
	rcv.quiet(t, 2, "a failed writeback changes nothing and announces nothing")
}
