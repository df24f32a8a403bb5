package mocksikka_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// dataFilterOf is, per data endpoint, one documented filter (sheet section 5, P) and the item
// field it matches.
var dataFilterOf = map[string][2]string{
	"patients": {"patient_id", "patient_id"}, "providers": {"provider_id", "provider_id"},
	"operatories": {"is_hidden", "is_hidden"}, "appointments": {"patient_id", "patient_id"},
	"appointments_available_slots": {"provider_id", "provider_id"},
	"transactions":                 {"transaction_type", "transaction_type"},
	"claims":                       {"claim_status", "claim_status"}, "payment_types": {"code", "code"},
	"patient_balance": {"patient_id", "patient_id"}, "treatment_plans": {"procedure_code", "procedure_code"},
	"insurance_plan_coverage": {"insurance_company_id", "insurance_company_id"},
	"medical_notes":           {"note_type", "type"}, "practice_variables": {"service_name", "service_name"},
}

// Every data endpoint, not only patients: its pages (page-index offsets, a limit that leaves a
// short last page) put together are the whole list; one documented filter keeps exactly the
// rows of the whole list that match it; a value nothing matches answers 204 with no body.
func TestDataEveryEndpointPagesFiltersAnd204(t *testing.T) {
	e := newDataEnv(t)
	require.Len(t, dataFilterOf, len(dataEndpointNames), "a filter for every endpoint")
	for name, need := range dataEndpointNames {
		t.Run(name, func(t *testing.T) {
			filter := dataFilterOf[name]
			whole := e.get(withQuery(name, need, "limit=5000", "fields="+filter[1])).list(t)
			total, err := strconv.Atoi(whole.TotalCount)
			require.NoError(t, err)
			require.Len(t, whole.Items, total)
			require.GreaterOrEqual(t, total, 2, "enough rows to page")

			limit := total/3 + 1 // three pages, the last one short unless total divides
			last := (total+limit-1)/limit - 1
			var joined []map[string]string
			for page := 0; page <= last; page++ {
				l := e.get(withQuery(name, need, "fields="+filter[1], "limit="+strconv.Itoa(limit), "offset="+strconv.Itoa(page))).list(t)
				assert.Equal(t, strconv.Itoa(page), l.Offset)
				if page == last {
					assert.Equal(t, "", l.Pagination["next"], "next is empty on the last page")
				} else {
					assert.Contains(t, l.Pagination["next"], "offset="+strconv.Itoa(page+1)+"&")
				}
				joined = append(joined, l.Items...)
			}
			assert.Equal(t, whole.Items, joined, "the pages are the whole list, in order")

			value := whole.Items[total/2][filter[1]]
			require.NotEmpty(t, value, "item %d has no %s", total/2, filter[1])
			var want []map[string]string
			for _, it := range whole.Items {
				if strings.EqualFold(it[filter[1]], value) {
					want = append(want, it)
				}
			}
			got := e.get(withQuery(name, need, "limit=5000", "fields="+filter[1], filter[0]+"="+url.QueryEscape(value))).list(t)
			assert.Equal(t, want, got.Items, "%s=%s keeps exactly its rows", filter[0], value)

			none := e.get(withQuery(name, need, filter[0]+"=NoSuchValue-zz9"))
			assert.Equal(t, http.StatusNoContent, none.status, "body: %s", none.body)
			assert.Empty(t, none.body)
		})
	}
}
