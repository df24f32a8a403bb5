package mocksikka_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/parlae/sikka-connect/mocksikka"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// dataEnv is an env with a request key of the default office.
type dataEnv struct {
	*env
	key string
}

func newDataEnv(t *testing.T, opts ...mocksikka.Option) *dataEnv {
	t.Helper()
	e := newEnv(t, opts...)
	return &dataEnv{env: e, key: e.officeKey()["request_key"]}
}

// get sends GET /v4/<path> with the key.
func (e *dataEnv) get(path string) response {
	e.t.Helper()
	return e.do("GET", "/v4/"+path, nil, "Request-Key", e.key)
}

// sheetFieldsOf returns the default and get_all fields of an endpoint from docs/sikka_fields.json.
func sheetFieldsOf(t *testing.T, name string) (def, all []string) {
	t.Helper()
	b, err := os.ReadFile("../docs/sikka_fields.json")
	require.NoError(t, err)
	var f struct {
		Endpoints map[string]struct {
			Default []string `json:"default"`
			GetAll  []string `json:"get_all"`
		} `json:"endpoints"`
	}
	require.NoError(t, json.Unmarshal(b, &f))
	ep, ok := f.Endpoints[name]
	require.True(t, ok, name)
	if ep.GetAll == nil {
		ep.GetAll = ep.Default
	}
	return ep.Default, ep.GetAll
}

func TestDataSmoke(t *testing.T) {
	e := newDataEnv(t)
	for _, p := range []string{"patients?limit=1", "appointments?limit=1", "providers?limit=1", "operatories?limit=1&cust_id=36225", "transactions?limit=2", "claims?limit=1", "payment_types?limit=1", "patient_balance?limit=1", "treatment_plans?limit=1", "insurance_plan_coverage?limit=1", "medical_notes?limit=1", "practice_variables?limit=1", "appointments_available_slots?limit=1", "practice_events?events=appointments", "guarantors", "payment/x"} {
		r := e.get(p)
		t.Logf("%s %d %s %s", p, r.status, r.header.Get("Data-Insert"), r.body)
	}
}

var _ = url.Values{}
var _ = strings.Cut
var _ = strconv.Itoa
var _ = http.StatusOK
var _ = assert.Equal
