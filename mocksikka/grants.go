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

// keyResponse is the answer of POST /v4/request_key and GET /v4/request_key_info.
type keyResponse struct {
	Href         string `json:"href"`
	RequestKey   string `json:"request_key"`
	RefreshKey   string `json:"refresh_key,omitempty"`
	StartTime    string `json:"start_time"`
	EndTime      string `json:"end_time"`
	ExpiresIn    string `json:"expires_in"`
	IssuedTo     string `json:"issued_to"`
	Status       string `json:"status"`
	RequestCount string `json:"request_count"`
	Scope        string `json:"scope"`
	Domain       string `json:"domain"`
}

// keyScope is the scope of every key; Sikka's real values were not found.
const keyScope = "authorized_practices practices request_key_info"

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
		resp.RefreshKey = k.refreshKey
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
		c.fail(http.StatusBadRequest, codeBadJSON, "Invalid JSON",
			"The body must be a JSON object whose values are strings.")
		return false
	}
	return true
}

// requireFields answers 400 naming the first empty field.
func (c *call) requireFields(fields ...[2]string) bool {
	for _, f := range fields {
		if f[1] == "" {
			c.fail(http.StatusBadRequest, codeMissingField, "Missing "+f[0], "The field "+f[0]+" is required.")
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
		c.fail(http.StatusBadRequest, codeBadGrant, "Missing grant_type",
			"grant_type must be authorization_code, request_key or refresh_key.")
		return
	default:
		c.fail(http.StatusBadRequest, codeBadGrant, "Unsupported grant_type",
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
		status, code, short = http.StatusUnauthorized, codeBadApp, "Invalid app credentials"
	case in.GrantType == "authorization_code":
		if office, ok := s.store.redeemCode(in.Code, in.AppID, now); ok {
			k = s.store.newKey(in.AppID, office, now, s.keyTTL)
		} else {
			status, code, short = http.StatusBadRequest, codeBadCode, "Invalid authorization code"
		}
	case in.GrantType == "request_key":
		if s.checkOffice(in.OfficeID, in.SecretKey) {
			k = s.store.newKey(in.AppID, in.OfficeID, now, s.keyTTL)
		} else {
			status, code, short = http.StatusUnauthorized, codeBadOffice, "Invalid office credentials"
		}
	default: // refresh_key
		var ok bool
		if k, ok = s.store.refreshKey(in.RefreshKey, in.AppID, now, s.keyTTL, s.refreshInvalidatesOld); !ok {
			status, code, short = http.StatusUnauthorized, codeBadRefreshKey, "Invalid refresh key"
		}
	}
	var resp keyResponse
	if k != nil {
		resp = c.keyResponse(k, now, true)
		c.e.OfficeID = k.officeID
	}
	s.mu.Unlock()

	if k == nil {
		c.fail(status, code, short, longMessages[code])
		return
	}
	c.json(http.StatusOK, resp)
}

// longMessages explain each credential failure without saying which part was wrong.
var longMessages = map[string]string{
	codeBadApp:        "The app_id is unknown or the app_key does not match it.",
	codeBadCode:       "The code is unknown, expired, already used, or was issued to another app.",
	codeBadOffice:     "The office_id is unknown or the secret_key does not match it.",
	codeBadRefreshKey: "The refresh key is unknown, expired, already used, revoked, or belongs to another app.",
	codeBadRequestKey: "The request key is missing, unknown, expired or revoked.",
}

// checkOffice reports whether secretKey is officeID's; the caller holds s.mu.
func (s *Server) checkOffice(officeID, secretKey string) bool {
	for _, p := range s.practices {
		if p.OfficeID == officeID {
			return subtle.ConstantTimeCompare([]byte(p.SecretKey), []byte(secretKey)) == 1
		}
	}
	return false
}

// revokeKey answers DELETE /v4/request_key: the key named by the Request-Key header, or by a
// JSON body {request_key, app_id, app_key} of the app it was issued to, stops working at once,
// and so does its refresh key.
func (s *Server) revokeKey(c *call) {
	key := c.r.Header.Get("Request-Key")
	var in keyRequest
	if key == "" && len(c.body) > 0 {
		if !c.decodeKeyRequest(&in) {
			return
		}
		if !c.requireFields([2]string{"request_key", in.RequestKey}, [2]string{"app_id", in.AppID}, [2]string{"app_key", in.AppKey}) {
			return
		}
		key = in.RequestKey
		c.e.AppID = in.AppID
	}

	s.mu.Lock()
	now := s.clock.now()
	var k *keyPair
	ok := key != ""
	if ok && in.AppID != "" && !s.checkApp(in.AppID, in.AppKey) {
		s.mu.Unlock()
		c.fail(http.StatusUnauthorized, codeBadApp, "Invalid app credentials", longMessages[codeBadApp])
		return
	}
	if ok {
		k, ok = s.store.usableKey(key, now)
	}
	if ok && in.AppID != "" && k.appID != in.AppID {
		ok = false
	}
	if ok {
		k.revoked = true
		s.store.drop(k)
		c.e.OfficeID, c.e.AppID = k.officeID, k.appID
	}
	s.mu.Unlock()

	if !ok {
		c.fail(http.StatusUnauthorized, codeBadRequestKey, "Invalid request key", longMessages[codeBadRequestKey])
		return
	}
	c.json(http.StatusOK, map[string]string{"issued_to": k.officeID, "status": "revoked"})
}
