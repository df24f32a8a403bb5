package webhook

import (
	"testing"
	"time"
)

// Whatever the body, parse neither panics nor accepts a delivery without
// its event and office; an accepted one keeps the body as its Payload.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		`{"event":"Data_Refresh","office_id":"D24710","practice_id":1,"prev_generated_time":"2019-12-09 14:37:56","next_data_synchronization_date":"2019-12-10 17:15:00","practice_management_system_version":"V16.6","utc_difference_in_minutes":"240"}`,
		`{"event":"patient","office_id":"D20226","practice_id":"1","customer_id":"1","prev_generated_time":"2019-12-09 14:37:56","next_data_synchronization_date":"2019-12-10 17:15:00","generated_time":"2018-04-04 17:06:00"}`,
		`{"event":"patient","office_id":"D1","practice_id":null,"utc_difference_in_minutes":99999}`,
		`{"event":true,"office_id":1e400}`, `[]`, `null`, `{`, ``, `{"event":"x","office_id":{}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		d, err := parse(body, time.Unix(0, 0))
		if err != nil {
			return
		}
		if d.Type == "" || d.OfficeID == "" {
			t.Fatalf("accepted without event or office: %+v", d.Event)
		}
		if string(d.Payload) != string(body) {
			t.Fatal("the payload is not the body")
		}
	})
}
