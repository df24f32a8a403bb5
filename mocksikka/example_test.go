package mocksikka_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/parlae/sikka-connect/mocksikka"
)

// A request key from an office's stored credentials, then the practices it sees.
func ExampleNew() {
	mock := mocksikka.New()
	srv := httptest.NewServer(mock)
	defer srv.Close()

	body, _ := json.Marshal(map[string]string{
		"grant_type": "request_key",
		"office_id":  mocksikka.DefaultOfficeID,
		"secret_key": mocksikka.DefaultSecretKey,
		"app_id":     mocksikka.DefaultAppID,
		"app_key":    mocksikka.DefaultAppKey,
	})
	resp, err := http.Post(srv.URL+"/v4/request_key", "application/json", bytes.NewReader(body))
	if err != nil {
		panic(err)
	}
	var key map[string]string
	_ = json.NewDecoder(resp.Body).Decode(&key)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, key["issued_to"], key["status"], key["expires_in"] != "")

	req, _ := http.NewRequest("GET", srv.URL+"/v4/authorized_practices", nil)
	req.Header.Set("Request-Key", key["request_key"])
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	var list struct {
		TotalCount string              `json:"total_count"`
		Items      []map[string]string `json:"items"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&list)
	resp.Body.Close()
	fmt.Println(list.TotalCount, list.Items[0]["practice_name"], list.Items[0]["practice_management_system"])

	fmt.Println(mock.Count("POST /v4/request_key", "request_key"))
	// Output:
	// 200 D36225 active true
	// 1 Happy Dental Clinic Dentrix
	// 1
}

// Scripting a failure: the next token call answers 503, the one after works again.
func ExampleServer_InjectFault() {
	mock := mocksikka.New()
	srv := httptest.NewServer(mock)
	defer srv.Close()

	mock.InjectFault(mocksikka.Fault{Endpoint: "POST /v4/request_key", Count: 1, Status: http.StatusServiceUnavailable})
	for range 2 {
		body := `{"grant_type":"request_key","office_id":"D36225","secret_key":"` + mocksikka.DefaultSecretKey +
			`","app_id":"` + mocksikka.DefaultAppID + `","app_key":"` + mocksikka.DefaultAppKey + `"}`
		resp, err := http.Post(srv.URL+"/v4/request_key", "application/json", bytes.NewBufferString(body))
		if err != nil {
			panic(err)
		}
		resp.Body.Close()
		fmt.Println(resp.StatusCode)
	}
	// Output:
	// 503
	// 200
}
