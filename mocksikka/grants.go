package mocksikka

import (
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// sikkaTime is how Sikka writes times: no time zone. The mock writes UTC.
const sikkaTime = "2006-01-02T15:04:05"

// keyRequest is the JSON body of POST and DELETE /v4/request_key; every value is a string.
type keyRequest struct {
	GrantType  string `json:"grant_type"`
	Code       string `json:"code"`
	AppID      string `json:"app_id"`
	AppKey     string `json:"app_key"`
	OfficeID   string `json:"office_id"`
	SecretKey  string `json:"secret_key"`
	RefreshKey string `json:"refresh_key"`
	RequestKey string `json:"request_key"`
}

// keyResponse is the answer of POST /v4/request_key, its fields in the order of Sikka's
// example (SIKKA_API.md section 2: refresh_key last).
type keyResponse struct {
	Href         string `json:"href"`
	RequestKey   string `json:"request_key"`
	StartTime    string `json:"start_time"`
	EndTime      string `json:"end_time"`
	ExpiresIn    string `json:"expires_in"`
	IssuedTo     string `json:"issued_to"`
	Status       string `json:"status"`
	RequestCount string `json:"request_count"`
	Scope        string `json:"scope"`
	Domain       string `json:"domain"`
	RefreshKey   string `json:"refresh_key,omitempty"`
}

// keyInfoResponse is the answer of GET /v4/request_key_info: the same fields but refresh_key,
// in the order of Sikka's example (status second).
type keyInfoResponse struct {
	Href         string `json:"href"`
	Status       string `json:"status"`
	RequestKey   string `json:"request_key"`
	StartTime    string `json:"start_time"`
	EndTime      string `json:"end_time"`
	ExpiresIn    string `json:"expires_in"`
	IssuedTo     string `json:"issued_to"`
	RequestCount string `json:"request_count"`
	Scope        string `json:"scope"`
	Domain       string `json:"domain"`
}

// info is r as request_key_info answers it.
func (r keyResponse) info() keyInfoResponse {
	return keyInfoResponse{Href: r.Href, Status: r.Status, RequestKey: r.RequestKey, StartTime: r.StartTime,
		EndTime: r.EndTime, ExpiresIn: r.ExpiresIn, IssuedTo: r.IssuedTo, RequestCount: r.RequestCount,
		Scope: r.Scope, Domain: r.Domain}
}

// keyScope is the scope of every key: as Sikka's, a comma list of API names starting
// "start,end,"; the mock's keys open the APIs it serves.
const keyScope = "start,end,authorized_practices,practices,request_key_info"

func (c *call) keyResponse(k *keyPair, now time.Time, withRefresh bool) keyResponse {
	left := max(k.end.Sub(now)/time.Second, 0)
	resp := keyResponse{
		Href:         c.baseURL() + "/v4/request_key_info?request_key=" + url.QueryEscape(k.requestKey),
		RequestKey:   k.requestKey,
		StartTime:    k.start.UTC().Format(sikkaTime),
		EndTime:      k.end.UTC().Format(sikkaTime),
		ExpiresIn:    strconv.FormatInt(int64(left), 10) + " second(s)",
		IssuedTo:     k.officeID,
		Status:       "active",
		RequestCount: strconv.Itoa(k.requestCount),
		Scope:        keyScope,
		Domain:       "Dental",
	}
	if withRefresh {
		resp.RefreshKey = k.refresh.key
	}
	return resp
}

// decodeJSON reads c.body as a keyRequest, answering 415 or 400 when it is not one.
func (c *call) decodeKeyRequest(into *keyRequest) bool {
	if !isJSON(c.r.Header.Get("Content-Type")) {
		c.fail(http.StatusUnsupportedMediaType, codeBadContentType, "Unsupported content type",
			"Send the body as JSON with Content-Type: application/json.")
		return false
	}
	if err := json.Unmarshal(c.body, into); err != nil {
		c.fail(http.StatusBadRequest, codeParamInvalid, "Invalid JSON",
			"The body must be a JSON object whose values are strings.")
		return false
	}
	return true
}

// missingCodes are the documented codes of a missing app_id, app_key and secret_key; any
// other missing parameter is API1020.
var missingCodes = map[string]string{
	"app_id": codeAppIDMissing, "App-Id": codeAppIDMissing,
	"app_key": codeAppKeyMissing, "App-Key": codeAppKeyMissing,
	"secret_key": codeSecretMissing,
}

// requireFields answers 400 naming the first empty field.
func (c *call) requireFields(fields ...[2]string) bool {
	for _, f := range fields {
		if f[1] == "" {
			code, ok := missingCodes[f[0]]
			if !ok {
				code = codeParamMissing
			}
			c.fail(http.StatusBadRequest, code, "Missing Parameter", f[0]+" is missing.")
			return false
		}
	}
	return true
}

// checkApp reports whether appID and appKey are a registered app's credentials; the caller
// holds s.mu.
func (s *Server) checkApp(appID, appKey string) bool {
	a, ok := s.app(appID)
	return ok && subtle.ConstantTimeCompare([]byte(a.Key), []byte(appKey)) == 1
}

// requestKey answers POST /v4/request_key for its three grants.
func (s *Server) requestKey(c *call) {
	var in keyRequest
	if !c.decodeKeyRequest(&in) {
		return
	}
	c.e.AppID = in.AppID
	var fields [][2]string
	switch in.GrantType {
	case "authorization_code":
		fields = [][2]string{{"code", in.Code}}
	case "request_key":
		fields = [][2]string{{"office_id", in.OfficeID}, {"secret_key", in.SecretKey}}
		c.e.OfficeID = in.OfficeID
	case "refresh_key":
		fields = [][2]string{{"refresh_key", in.RefreshKey}}
	case "":
		c.fail(http.StatusBadRequest, codeParamMissing, "Missing Parameter",
			"grant_type is missing: request_key, refresh_key or authorization_code.")
		return
	default:
		c.fail(http.StatusBadRequest, codeParamInvalid, "Unsupported grant_type",
			"grant_type must be authorization_code, request_key or refresh_key.")
		return
	}
	if !c.requireFields(append(fields, [2]string{"app_id", in.AppID}, [2]string{"app_key", in.AppKey})...) {
		return
	}

	s.mu.Lock()
	now := s.clock.now()
	var k *keyPair
	status, code, short := http.StatusOK, "", ""
	switch {
	case !s.checkApp(in.AppID, in.AppKey):
		status, code, short = http.StatusUnauthorized, codeBadCredentials, authFailed
	case in.GrantType == "authorization_code":
		if office, ok := s.store.redeemCode(in.Code, in.AppID, now); ok {
			k = s.store.newKey(in.AppID, office, now, s.keyTTL)
		} else {
			status, code, short = http.StatusBadRequest, codeParamInvalid, "Invalid authorization code"
		}
	case in.GrantType == "request_key":
		if s.checkOffice(in.OfficeID, in.SecretKey) {
			k = s.store.newKey(in.AppID, in.OfficeID, now, s.keyTTL)
		} else {
			status, code, short = http.StatusUnauthorized, codeBadCredentials, authFailed
		}
	default: // refresh_key
		var ok bool
		if k, ok = s.store.refreshKey(in.RefreshKey, in.AppID, now, s.keyTTL, s.refreshInvalidatesOld); !ok {
			status, code, short = http.StatusUnauthorized, codeBadCredentials, authFailed
		}
	}
	var resp keyResponse
	if k != nil {
		resp = c.keyResponse(k, now, true)
		c.e.OfficeID = k.officeID
	}
	s.mu.Unlock()

	if k == nil {
		long := credentialsIncorrect
		if code == codeParamInvalid {
			long = "The code is unknown, expired, already used, or was issued to another app."
		}
		c.fail(status, code, short, long)
		return
	}
	c.json(http.StatusOK, resp)
}

// Sikka's texts of API2003 (short and long message).
const (
	authFailed           = "Authentication/Authorization Failed"
	credentialsIncorrect = "ID or key is incorrect."
)

// checkOffice reports whether secretKey is officeID's; the caller holds s.mu.
func (s *Server) checkOffice(officeID, secretKey string) bool {
	for _, p := range s.practices {
		if p.OfficeID == officeID {
			return subtle.ConstantTimeCompare([]byte(p.SecretKey), []byte(secretKey)) == 1
		}
	}
	return false
}

// sessionEnded answers 200 with Sikka's envelope for a terminated session (API0002).
func (c *call) sessionEnded() {
	c.failMore(http.StatusOK, codeSessionEnded, "OK", "Request Session terminated successfully.", "")
}

// revokeKey answers DELETE /v4/request_key: the request key (Request-Key header or
// request_key query, already checked by checkRequestKey) stops working at once. Its refresh
// key is not affected.
func (s *Server) revokeKey(c *call) {
	key := c.r.Header.Get("Request-Key")
	s.mu.Lock()
	k, ok := s.store.usableKey(key, s.clock.now())
	if ok {
		k.revoked = true
		s.store.drop(k)
		c.e.Auth, c.e.OfficeID, c.e.AppID = "request_key", k.officeID, k.appID
	}
	s.mu.Unlock()
	if !ok { // expired between checkRequestKey and now
		c.keyRejected(keyExpired)
		return
	}
	c.sessionEnded()
}

// revokeRefreshKey answers DELETE /v4/refresh_key (headers Refresh-Key, App-Id, App-Key):
// the refresh key stops working at once; request keys issued with it keep working until
// they expire.
func (s *Server) revokeRefreshKey(c *call) {
	h := c.r.Header
	appID, appKey, refresh := h.Get("App-Id"), h.Get("App-Key"), h.Get("Refresh-Key")
	c.e.AppID = appID
	if !c.requireFields([2]string{"App-Id", appID}, [2]string{"App-Key", appKey}, [2]string{"Refresh-Key", refresh}) {
		return
	}
	s.mu.Lock()
	ok := s.checkApp(appID, appKey)
	var rr *refreshRec
	if ok {
		rr, ok = s.store.refreshOf(refresh, appID)
	}
	if ok {
		s.store.dropRefresh(rr)
		c.e.OfficeID = rr.officeID
	}
	s.mu.Unlock()
	if !ok {
		c.fail(http.StatusUnauthorized, codeBadCredentials, authFailed, credentialsIncorrect)
		return
	}
	c.sessionEnded()
}
