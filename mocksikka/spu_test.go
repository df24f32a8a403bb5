package mocksikka_test

import (
	"encoding/json"
	"testing"

	"github.com/parlae/sikka-connect/mocksikka"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAdminSPU(t *testing.T) {
	e := newEnv(t)
	list := func() []mocksikka.SPUStatus {
		r := e.do("GET", "/_mock/spu", nil)
		require.Equal(t, 200, r.status, "body: %s", r.body)
		var out []mocksikka.SPUStatus
		require.NoError(t, json.Unmarshal(r.body, &out))
		return out
	}
	all := list()
	require.Len(t, all, 3, "one entry per default office")
	for _, s := range all {
		assert.True(t, s.Online, "%s starts online", s.OfficeID)
	}

	r := e.do("POST", "/_mock/spu", map[string]any{"office_id": mocksikka.DefaultOfficeID, "online": false})
	require.Equal(t, 200, r.status, "body: %s", r.body)
	assert.Contains(t, list(), mocksikka.SPUStatus{OfficeID: mocksikka.DefaultOfficeID, Online: false})
	assert.Contains(t, list(), mocksikka.SPUStatus{OfficeID: mocksikka.MapleLeafOfficeID, Online: true}, "other offices unaffected")

	e.do("POST", "/_mock/spu", map[string]any{"office_id": "NOPE", "online": false}).envelope(t, 404)
	e.do("POST", "/_mock/spu", map[string]any{"office_id": mocksikka.DefaultOfficeID}).envelope(t, 400)

	require.NoError(t, e.mock.SetSPUOnline(mocksikka.DefaultOfficeID, true))
	assert.Contains(t, list(), mocksikka.SPUStatus{OfficeID: mocksikka.DefaultOfficeID, Online: true})

	require.NoError(t, e.mock.SetSPUOnline(mocksikka.BrightSmilesOfficeID, false))
	e.mock.Reset()
	for _, s := range list() {
		assert.True(t, s.Online, "Reset puts %s back online", s.OfficeID)
	}
}
