package sikka_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"time"

	"github.com/parlae/sikka-connect/sikka"
)

// exampleSikka stands in for Sikka in the examples below: three patients
// (offset is a page index), a writeback endpoint and its status, answering
// as Sikka documents it, every value a string.
func exampleSikka() *httptest.Server {
	patients := []string{
		`{"patient_id":"799601","firstname":"Carlene","lastname":"Smith","birthdate":"1984-12-10T00:00:00","status":"Active"}`,
		`{"patient_id":"799602","firstname":"Ravi","lastname":"Patel","birthdate":"1990-02-01T00:00:00","status":"Active"}`,
		`{"patient_id":"799603","firstname":"Ana","lastname":"Lima","birthdate":"","status":"Inactive"}`,
	}
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.Header.Get("Request-Key") == "" {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"http_code":"400","error_code":"API1004","short_message":"Missing Parameter"}`)
			return
		}
		switch r.Method + " " + r.URL.Path {
		case "GET /v4/patients":
			page, _ := strconv.Atoi(r.URL.Query().Get("offset"))
			limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
			from, to := min(page*limit, len(patients)), min(page*limit+limit, len(patients))
			if from == to {
				w.WriteHeader(http.StatusNoContent)
				return
			}
			fmt.Fprintf(w, `{"offset":"%d","limit":"%d","total_count":"%d","items":[%s]}`,
				page, limit, len(patients), strings.Join(patients[from:to], ","))
		case "POST /v4/appointment":
			w.WriteHeader(http.StatusCreated)
			fmt.Fprint(w, `{"http_code":"201","http_code_desc":"Created","error_code":"API2016","short_message":"New resource created successfully","long_message":"Id:275495","more_information":"https://api.sikkasoft.com/v4/writeback_status?id=275495"}`)
		case "GET /v4/writeback_status":
			fmt.Fprint(w, `[{"offset":"0","limit":"50","total_count":"1","items":[{"id":"275495","method":"POST","api":"appointment","is_completed":"True","has_error":"False","status":"Success","result":"Appointment inserted successfully","created_id":"70671"}]}]`)
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
}

// accountHTTPClient stands in for svc.HTTPClient(accountID): a client that
// sets the account's Request-Key on each request.
func accountHTTPClient() *http.Client {
	return &http.Client{Transport: setKey{key: "d7ab733c766917fa5ef8ae3a54100620", base: http.DefaultTransport}}
}

// Reading a practice's patients, two per page, with a request key from any
// source (here one you hold; in a host app, the integration's credentials).
func ExampleDataClient_Patients() {
	srv := exampleSikka()
	defer srv.Close()
	c := sikka.New("app-id", "app-key", sikka.WithBaseURL(srv.URL))
	dc := c.Data(sikka.StaticKey("d7ab733c766917fa5ef8ae3a54100620"))
	ctx := context.Background()

	n, err := dc.Count(ctx, "patients")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(n, "patients")
	for p, err := range dc.Patients(ctx, sikka.PageSize(2), sikka.Lightweight("patient_id", "firstname", "lastname", "birthdate", "status")) {
		if err != nil {
			fmt.Println(err)
			return
		}
		born := "unknown"
		if !p.Birthdate.IsZero() {
			born = p.Birthdate.Format("Jan 2, 2006")
		}
		fmt.Printf("%s %s %s (%s), born %s\n", p.PatientID, p.FirstName, p.LastName, p.Status, born)
	}
	// Output:
	// 3 patients
	// 799601 Carlene Smith (Active), born Dec 10, 1984
	// 799602 Ravi Patel (Active), born Feb 1, 1990
	// 799603 Ana Lima (Inactive), born unknown
}

// Booking an appointment is a writeback: Sikka queues it for the practice's
// server and answers with an id; wait for the outcome.
func ExampleDataClient_BookAppointment() {
	srv := exampleSikka()
	defer srv.Close()
	dc := sikka.New("app-id", "app-key", sikka.WithBaseURL(srv.URL)).
		Data(sikka.StaticKey("d7ab733c766917fa5ef8ae3a54100620"))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	wb, err := dc.BookAppointment(ctx, sikka.NewAppointment{
		PracticeID: "1", PatientID: "799601", ProviderID: "VLP", Operatory: "OP1",
		Start:  time.Date(2026, 12, 1, 10, 30, 0, 0, time.UTC), // the practice's wall clock
		Length: 60, Description: "Cleaning", CheckSPU: true,
	})
	switch {
	case errors.Is(err, sikka.ErrSPUOffline):
		fmt.Println("the practice's server is offline; try again later")
		return
	case err != nil:
		fmt.Println(err)
		return
	}
	fmt.Println("writeback", wb.ID)

	st, err := dc.WaitWriteback(ctx, wb.ID, nil)
	if err != nil { // errors.Is(err, sikka.ErrWritebackFailed): the text says why
		fmt.Println(err)
		return
	}
	fmt.Println(st.Status+":", st.Result, "- appointment", st.CreatedID)
	// Output:
	// writeback 275495
	// Success: Appointment inserted successfully - appointment 70671
}

// With an HTTP client that authenticates its requests itself, such as the
// integration's per-account integration.Service.HTTPClient(accountID),
// which also renews the key when Sikka rejects it.
func ExampleClient_DataVia() {
	srv := exampleSikka()
	defer srv.Close()
	dc := sikka.New("app-id", "app-key", sikka.WithBaseURL(srv.URL)).DataVia(accountHTTPClient())
	n, err := dc.Count(context.Background(), "patients", sikka.Filter("status", "Active"))
	fmt.Println(n, err)
	// Output:
	// 3 <nil>
}
