package sikka_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parlae/sikka-connect/sikka"
)

// created is Sikka's documented 201 answer to a writeback (SIKKA_API.md,
// section 6).
const created = `{"http_code":"201","http_code_desc":"Created","error_code":"API2016","short_message":"New resource created successfully","long_message":"Id:275495","more_information":"https://api.sikkasoft.com/v4/writeback_status?id=275495"}`

// spuOffline is Sikka's documented 412 answer (note log_message and the
// misspelt "Preconditon").
const spuOfflineBody = `{"http_code":"412","http_code_desc":"Preconditon Failed","error_code":"API2017","short_message":"The server does not meet one of the preconditions that the requester put on the request.","log_message":"Sikka platform utility is offline","more_information":"--"}`

func TestWritebackSubmit(t *testing.T) {
	start := time.Date(2020, 9, 29, 10, 30, 0, 0, time.FixedZone("EST", -5*3600))
	for _, tc := range []struct {
		name   string
		submit func(dc *sikka.DataClient) (*sikka.Writeback, error)
		path   string
		body   map[string]string
	}{
		{"book an appointment", func(dc *sikka.DataClient) (*sikka.Writeback, error) {
			return dc.BookAppointment(context.Background(), sikka.NewAppointment{
				PracticeID: "1", PatientID: "799601", ProviderID: "VLP", Operatory: "OP1",
				Start: start, Length: 60, Description: "Cleaning", CheckSPU: true,
				Extra: map[string]string{"staff": "S1", "date": "overridden"},
			})
		}, "/v4/appointment", map[string]string{
			"practice_id": "1", "patient_id": "799601", "provider_id": "VLP", "operatory": "OP1",
			"date": "2020-09-29", "time": "10:30", "length": "60", "description": "Cleaning",
			"check_spu": "true", "staff": "S1",
		}},
		{"add a patient", func(dc *sikka.DataClient) (*sikka.Writeback, error) {
			return dc.AddPatient(context.Background(), sikka.NewPatient{
				PracticeID: "1", FirstName: "Carlene", LastName: "Smith", ProviderID: "VLP",
				Birthdate: time.Date(1984, 12, 10, 0, 0, 0, 0, time.UTC), Gender: "F", Cell: "5551234567",
			})
		}, "/v4/patient", map[string]string{
			"practice_id": "1", "firstname": "Carlene", "lastname": "Smith", "provider_id": "VLP",
			"birthdate": "1984-12-10", "gender": "F", "cell": "5551234567",
		}},
		{"add a medical note", func(dc *sikka.DataClient) (*sikka.Writeback, error) {
			return dc.AddMedicalNote(context.Background(), sikka.NewMedicalNote{
				PracticeID: "1", PatientID: "799601", ProviderID: "VLP", Type: "Clinical Note",
				Date: time.Date(2020, 10, 27, 0, 0, 0, 0, time.UTC), Text: "RVG(s).Taken 10/27/20",
			})
		}, "/v4/medical_notes", map[string]string{
			"practice_id": "1", "patient_id": "799601", "provider_id": "VLP", "type": "Clinical Note",
			"date": "2020-10-27", "text": "RVG(s).Taken 10/27/20",
		}},
		{"any writeback", func(dc *sikka.DataClient) (*sikka.Writeback, error) {
			return dc.Submit(context.Background(), "transaction", map[string]string{"practice_id": "1", "amount": "24.00"})
		}, "/v4/transaction", map[string]string{"practice_id": "1", "amount": "24.00"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeSikka(t, func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, 201, created) })
			wb, err := tc.submit(f.client(t, nil))
			require.NoError(t, err)
			assert.Equal(t, &sikka.Writeback{ID: "275495", StatusURL: "https://api.sikkasoft.com/v4/writeback_status?id=275495"}, wb)
			reqs := f.requests()
			require.Len(t, reqs, 1)
			assert.Equal(t, "POST "+tc.path, reqs[0].Method+" "+reqs[0].Path)
			assert.Equal(t, dataKey, reqs[0].Key)
			assert.Equal(t, tc.body, reqs[0].Body)
		})
	}
}

func TestWritebackID(t *testing.T) {
	for _, tc := range []struct{ long, more, want string }{
		{"Id:275495", "", "275495"},
		{"Id: 42", "", "42"},
		{"New resource created. id=77 queued", "", "77"},
		{"Provided id:9", "", "9"},
		{"", "https://api.sikkasoft.com/v4/writeback_status?id=275495", "275495"},
		{"created", "https://api.sikkasoft.com/v4/writeback_status?id=8", "8"},
	} {
		t.Run(tc.long+tc.more, func(t *testing.T) {
			f := newFakeSikka(t, func(w http.ResponseWriter, _ *http.Request) {
				writeJSON(w, 201, fmt.Sprintf(`{"http_code":"201","error_code":"API2016","long_message":%q,"more_information":%q}`, tc.long, tc.more))
			})
			wb, err := f.client(t, nil).Submit(context.Background(), "patient", map[string]string{"firstname": "A"})
			require.NoError(t, err)
			assert.Equal(t, tc.want, wb.ID)
		})
	}
	t.Run("no id", func(t *testing.T) {
		f := newFakeSikka(t, func(w http.ResponseWriter, _ *http.Request) {
			writeJSON(w, 201, `{"http_code":"201","error_code":"API2016","long_message":"Created","more_information":"--"}`)
		})
		_, err := f.client(t, nil).Submit(context.Background(), "patient", nil)
		requireSikkaError(t, err, "Submit", sikka.ErrUnavailable)
		require.Len(t, f.requests(), 1, "a writeback that may have been queued is not sent again")
		assert.Equal(t, map[string]string{}, f.requests()[0].Body, "a nil body is sent as {}")
	})
}

func TestWritebackRetries(t *testing.T) {
	t.Run("a 5xx is not retried", func(t *testing.T) {
		f := newFakeSikka(t, func(w http.ResponseWriter, _ *http.Request) {
			writeJSON(w, 503, `{"http_code":"503","http_code_desc":"ServiceUnavailable","error_code":"API2002"}`)
		})
		_, err := f.client(t, nil).AddPatient(context.Background(), sikka.NewPatient{FirstName: "A"})
		requireSikkaError(t, err, "AddPatient", sikka.ErrUnavailable)
		assert.Len(t, f.requests(), 1)
	})
	t.Run("a 429 is", func(t *testing.T) {
		var n int
		var mu sync.Mutex
		f := newFakeSikka(t, func(w http.ResponseWriter, _ *http.Request) {
			mu.Lock()
			n++
			first := n == 1
			mu.Unlock()
			if first {
				w.Header().Set("X-Rate-Limit-Reset", "2")
				writeJSON(w, 429, `{"http_code":"429","http_code_desc":"Too Many Requests"}`)
				return
			}
			writeJSON(w, 201, created)
		})
		var waits []time.Duration
		wb, err := f.client(t, &waits).AddPatient(context.Background(), sikka.NewPatient{FirstName: "A"})
		require.NoError(t, err)
		assert.Equal(t, "275495", wb.ID)
		assert.Len(t, f.requests(), 2)
		assert.Equal(t, []time.Duration{2 * time.Second}, waits)
	})
}

func TestWritebackSPUOffline(t *testing.T) {
	f := newFakeSikka(t, func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, 412, spuOfflineBody) })
	_, err := f.client(t, nil).BookAppointment(context.Background(), sikka.NewAppointment{PatientID: "1", CheckSPU: true})
	require.ErrorIs(t, err, sikka.ErrSPUOffline)
	se := requireSikkaError(t, err, "BookAppointment", nil)
	assert.Equal(t, 412, se.StatusCode)
	assert.Equal(t, "API2017", se.Envelope.ErrorCode)
	assert.Equal(t, "Sikka platform utility is offline", se.Envelope.LogMessage, "Sikka's reason, kept")
	assert.False(t, errors.Is(err, sikka.ErrKeyRejected))
	assert.Contains(t, err.Error(), "Sikka Platform Utility is offline")
	assert.Len(t, f.requests(), 1, "not retried")

	t.Run("in a 200", func(t *testing.T) {
		f := newFakeSikka(t, func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, 200, spuOfflineBody) })
		_, err := f.client(t, nil).AddMedicalNote(context.Background(), sikka.NewMedicalNote{PatientID: "1", CheckSPU: true})
		require.ErrorIs(t, err, sikka.ErrSPUOffline)
		assert.False(t, errors.Is(err, sikka.ErrUnavailable))
	})
}

func TestWritebackErrorsHoldNoKey(t *testing.T) {
	f := newFakeSikka(t, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 400, `{"http_code":"400","http_code_desc":"BadRequest","error_code":"API1004","short_message":"Requestkey `+r.Header.Get("Request-Key")+` is missing/invalid","long_message":"Requestkey is missing/invalid","more_information":"Please provide correct requestkey"}`)
	})
	_, err := f.client(t, nil).BookAppointment(context.Background(), sikka.NewAppointment{PatientID: "1"})
	requireKeyRejected(t, err, "BookAppointment")
	assert.NotContains(t, err.Error(), dataKey[:8])
	assert.Contains(t, err.Error(), "[REDACTED]")
}

// statusBody is writeback_status's documented array-wrapped answer for
// writeback 275495 with these values.
func statusBody(completed, hasError, status, result string) string {
	return fmt.Sprintf(`[{"offset":"0","limit":"50","total_count":"1","execution_time":"9","pagination":{"first":"","previous":"","current":"","next":"","last":""},"items":[{"id":"275495","office_id":"D20006","method":"POST","api":"patient","payload_body":"{\"firstname\":\"Carlene\"}","appointment_sr_no":"","request_time":"2020-12-04 13:51:34","is_completed":%q,"has_error":%q,"completed_time":"2020-12-04 13:52:10","result":%q,"practice_id":"1","status":%q,"patient_id":"799602","created_id":"799602"}]}]`,
		completed, hasError, result, status)
}

func TestWritebackStatus(t *testing.T) {
	f := newFakeSikka(t, func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, 200, statusBody("True", "False", "Success", "New Patient inserted successfully"))
	})
	st, err := f.client(t, nil).WritebackStatus(context.Background(), "275495")
	require.NoError(t, err)
	assert.Equal(t, "275495", st.ID)
	assert.Equal(t, "D20006", st.OfficeID)
	assert.Equal(t, "POST", st.Method)
	assert.Equal(t, "patient", st.API)
	assert.Equal(t, `{"firstname":"Carlene"}`, st.PayloadBody)
	assert.True(t, st.Completed)
	assert.False(t, st.HasError)
	assert.False(t, st.Failed())
	assert.True(t, st.Done())
	assert.Equal(t, "Success", st.Status)
	assert.Equal(t, "New Patient inserted successfully", st.Result)
	assert.Equal(t, time.Date(2020, 12, 4, 13, 51, 34, 0, time.UTC), st.RequestTime.Time)
	assert.Equal(t, time.Date(2020, 12, 4, 13, 52, 10, 0, time.UTC), st.CompletedTime.Time)
	assert.Equal(t, "799602", st.CreatedID)
	assert.Equal(t, "799602", st.PatientID)
	r := f.requests()
	require.Len(t, r, 1)
	assert.Equal(t, "GET /v4/writeback_status", r[0].Method+" "+r[0].Path)
	assert.Equal(t, "275495", r[0].Query.Get("id"))
	assert.Equal(t, dataKey, r[0].Key)

	t.Run("not listed", func(t *testing.T) {
		f := newFakeSikka(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
		_, err := f.client(t, nil).WritebackStatus(context.Background(), "275495")
		require.ErrorIs(t, err, sikka.ErrNoSuchWriteback)
		_, err = f.client(t, nil).WritebackStatus(context.Background(), "")
		require.ErrorIs(t, err, sikka.ErrNoSuchWriteback)
		assert.Len(t, f.requests(), 1, "an empty id sends nothing")
	})
	t.Run("an object payload", func(t *testing.T) {
		f := newFakeSikka(t, func(w http.ResponseWriter, _ *http.Request) {
			writeJSON(w, 200, `[{"items":[{"id":"7","payload_body":{"firstname":"A"},"is_completed":"F","has_error":"F","status":"Pending"}]}]`)
		})
		st, err := f.client(t, nil).WritebackStatus(context.Background(), "7")
		require.NoError(t, err)
		assert.JSONEq(t, `{"firstname":"A"}`, st.PayloadBody)
		assert.False(t, st.Done())
	})
}

// sequence answers writeback_status with bodies in turn, the last one
// for every further request.
func sequence(bodies ...func(w http.ResponseWriter)) http.HandlerFunc {
	var mu sync.Mutex
	n := 0
	return func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		i := min(n, len(bodies)-1)
		n++
		mu.Unlock()
		bodies[i](w)
	}
}

func answer(status int, body string) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		if status == http.StatusNoContent {
			w.WriteHeader(status)
			return
		}
		writeJSON(w, status, body)
	}
}

func TestWaitWriteback(t *testing.T) {
	poll := func(n int) time.Duration { return time.Duration(n) * time.Second }
	pending := answer(200, statusBody("False", "False", "Pending", ""))

	t.Run("until completed", func(t *testing.T) {
		f := newFakeSikka(t, sequence(
			answer(http.StatusNoContent, ""), // not listed yet
			pending,
			answer(503, `{"http_code":"503","error_code":"API2002"}`), // retried within WritebackStatus, then by the wait
			answer(503, `{"http_code":"503","error_code":"API2002"}`),
			answer(503, `{"http_code":"503","error_code":"API2002"}`),
			pending,
			answer(200, statusBody("True", "False", "Success", "New Patient inserted successfully")),
		))
		var waits []time.Duration
		retry := sikka.WithBackoff(func(int) time.Duration { return time.Millisecond })
		st, err := f.client(t, &waits, retry).WaitWriteback(context.Background(), "275495", poll)
		require.NoError(t, err)
		assert.True(t, st.Completed)
		assert.Equal(t, "New Patient inserted successfully", st.Result)
		assert.Len(t, f.requests(), 7)
		var polls []time.Duration
		for _, w := range waits {
			if w != time.Millisecond {
				polls = append(polls, w)
			}
		}
		assert.Equal(t, []time.Duration{1 * time.Second, 2 * time.Second, 3 * time.Second, 4 * time.Second}, polls, "the poll backoff between polls")
	})
	t.Run("until failed", func(t *testing.T) {
		f := newFakeSikka(t, sequence(pending, answer(200, statusBody("True", "True", "Failed", "Provider VLP does not exist in PMS"))))
		st, err := f.client(t, nil).WaitWriteback(context.Background(), "275495", poll)
		require.ErrorIs(t, err, sikka.ErrWritebackFailed)
		requireSikkaError(t, err, "WaitWriteback", nil)
		require.NotNil(t, st)
		assert.True(t, st.Failed())
		assert.Contains(t, err.Error(), "Provider VLP does not exist in PMS", "says why")
		assert.Contains(t, err.Error(), "275495")
		assert.Len(t, f.requests(), 2)
	})
	t.Run("failed while not completed", func(t *testing.T) {
		f := newFakeSikka(t, sequence(answer(200, statusBody("False", "True", "Error", "Invalid operatory"))))
		_, err := f.client(t, nil).WaitWriteback(context.Background(), "275495", poll)
		require.ErrorIs(t, err, sikka.ErrWritebackFailed)
		assert.Contains(t, err.Error(), "Invalid operatory")
	})
	t.Run("the context ends the wait", func(t *testing.T) {
		f := newFakeSikka(t, sequence(pending))
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		c := sikka.New(appID, "k", sikka.WithBaseURL(f.srv.URL))
		st, err := c.Data(sikka.StaticKey(dataKey)).WaitWriteback(ctx, "275495", func(int) time.Duration { return 10 * time.Millisecond })
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.NotNil(t, st, "the last status seen")
		assert.Equal(t, "Pending", st.Status)
		assert.Contains(t, err.Error(), "poll it again later")
		assert.GreaterOrEqual(t, len(f.requests()), 2)
	})
	t.Run("a rejected key ends the wait", func(t *testing.T) {
		f := newFakeSikka(t, sequence(pending, answer(400, `{"http_code":"400","error_code":"API1025","short_message":"Request key expired"}`), pending))
		st, err := f.client(t, nil).WaitWriteback(context.Background(), "275495", poll)
		requireKeyRejected(t, err, "WritebackStatus")
		assert.Equal(t, "Pending", st.Status)
		assert.Len(t, f.requests(), 2)
	})
	t.Run("default poll", func(t *testing.T) {
		for n := 1; n <= 8; n++ {
			d := sikka.DefaultWritebackPoll(n)
			assert.GreaterOrEqual(t, d, 500*time.Millisecond)
			assert.LessOrEqual(t, d, 30*time.Second)
		}
		assert.True(t, strings.HasPrefix(sikka.ErrWritebackFailed.Error(), "sikka: "))
	})
}
