package mocksikka

import (
	"bytes"
	"html/template"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// consentTmpl is Sikka's authorization page: which app asks, which practice answers, Allow or Deny.
var consentTmpl = template.Must(template.New("consent").Parse(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Authorize {{.AppName}} - Sikka</title>
<style>body{font-family:sans-serif;max-width:40em;margin:2em auto}table{border-collapse:collapse}td,th{padding:.2em .6em;text-align:left}</style>
</head>
<body>
<main>
<h1>Authorize {{.AppName}}</h1>
<p id="prompt">Allow {{.AppName}} to access your practice data</p>
{{with .Selected}}<p id="practice">Practice: <strong id="practice_name">{{.Name}}</strong>
 &middot; PMS: <strong id="pms">{{.PMS}}</strong>{{with .PMSVersion}} {{.}}{{end}}
 &middot; Office: <span id="selected_office">{{.OfficeID}}</span></p>{{end}}
<form method="post" action="authapp.aspx">
<input type="hidden" name="app_id" value="{{.AppID}}">
<input type="hidden" name="redirect_uri" value="{{.RedirectURI}}">
<input type="hidden" name="state" value="{{.State}}">
<label for="office_id">Practice</label>
<select id="office_id" name="office_id">
{{- range $i, $p := .Offices}}
<option value="{{$p.OfficeID}}"{{if eq $i 0}} selected{{end}}>{{$p.Name}} ({{$p.PMS}}) - {{$p.OfficeID}}</option>
{{- end}}
</select>
<table>
<tr><th>Practice</th><th>Practice management system</th><th>Office</th><th>Address</th></tr>
{{- range .Offices}}
<tr><td>{{.Name}}</td><td>{{.PMS}} {{.PMSVersion}}</td><td>{{.OfficeID}}</td><td>{{.Address}}, {{.City}} {{.State}} {{.Zip}}</td></tr>
{{- end}}
</table>
<p>
<button type="submit" name="decision" value="allow" id="allow">Allow</button>
<button type="submit" name="decision" value="deny" id="deny">Deny</button>
</p>
</form>
</main>
</body>
</html>
`))

// errorTmpl is the page of a refused authorization request: no redirect.
var errorTmpl = template.Must(template.New("error").Parse(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Authorization error - Sikka</title></head>
<body><main><h1>Authorization error</h1><p id="error">{{.}}</p></main></body>
</html>
`))

type consentData struct {
	AppName, AppID, RedirectURI, State string
	Selected                           *Practice
	Offices                            []Practice
}

// page renders t or, if that fails, a plain error.
func (c *call) page(status int, t *template.Template, data any) {
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		status = http.StatusInternalServerError
		b.Reset()
		b.WriteString("<!doctype html><p>internal error</p>")
	}
	c.html(status, b.Bytes())
}

// badAuthRequest answers 400 with an error page and no redirect.
func (c *call) badAuthRequest(msg string) {
	c.page(http.StatusBadRequest, errorTmpl, msg)
}

// checkRedirect finds the app and checks that redirectURI is registered for it, answering 400
// when not. The caller holds s.mu.
func (s *Server) checkRedirect(c *call, appID, redirectURI string) (App, *url.URL, bool) {
	c.e.AppID = appID
	a, ok := s.app(appID)
	if !ok {
		c.badAuthRequest("Unknown application: check the app_id.")
		return a, nil, false
	}
	u, err := url.Parse(redirectURI)
	if err == nil {
		_, err = url.ParseQuery(u.RawQuery)
	}
	if redirectURI == "" || err != nil || !(slices.Contains(a.RedirectURIs, redirectURI) || a.AllowLoopback && isLoopback(u)) {
		c.badAuthRequest("The redirect_uri " + redirectURI + " is not registered for " + a.Name + ".")
		return a, nil, false
	}
	return a, u, true
}

// isLoopback reports whether u is a plain-http URL on this machine: 127.0.0.1, localhost or
// [::1], any port, no user info, no fragment.
func isLoopback(u *url.URL) bool {
	if u.Scheme != "http" || u.User != nil || u.Opaque != "" || u.Fragment != "" || strings.Contains(u.Host, "%") {
		return false
	}
	switch u.Hostname() {
	case "127.0.0.1", "localhost", "::1":
		return true
	}
	return false
}

// withParams returns u with params appended to its query. Parameters of the same names
// already in u are dropped; others keep their bytes and order.
func withParams(u *url.URL, params ...[2]string) string {
	v := *u
	q, _ := url.ParseQuery(v.RawQuery) // checked in checkRedirect
	clash := false
	for _, p := range params {
		if q.Has(p[0]) {
			q.Del(p[0])
			clash = true
		}
	}
	if clash {
		v.RawQuery = q.Encode()
	}
	var add []string
	for _, p := range params {
		if p[1] != "" {
			add = append(add, url.QueryEscape(p[0])+"="+url.QueryEscape(p[1]))
		}
	}
	if v.RawQuery != "" {
		add = append([]string{v.RawQuery}, add...)
	}
	v.RawQuery = strings.Join(add, "&")
	v.ForceQuery = false
	return v.String()
}

// consentPage answers GET /portal/authapp.aspx: the consent page, or at once a code when auto-approve is on.
func (s *Server) consentPage(c *call) {
	q := c.r.URL.Query()
	state := q.Get("state")
	s.mu.Lock()
	a, u, ok := s.checkRedirect(c, q.Get("app_id"), q.Get("redirect_uri"))
	if !ok {
		s.mu.Unlock()
		return
	}
	if auto := s.autoApprove; auto != "" {
		c.e.OfficeID = auto
		if !s.officeExists(auto) {
			s.mu.Unlock()
			c.badAuthRequest("The auto-approve office " + auto + " is not configured.")
			return
		}
		code := s.store.newCode(a.ID, auto, s.clock.now(), s.codeTTL)
		s.mu.Unlock()
		c.redirect(withParams(u, [2]string{"code", code}, [2]string{"state", state}))
		return
	}
	data := consentData{AppName: a.Name, AppID: a.ID, RedirectURI: q.Get("redirect_uri"), State: state}
	seen := map[string]bool{}
	for _, p := range s.practices {
		if !seen[p.OfficeID] {
			seen[p.OfficeID] = true
			data.Offices = append(data.Offices, p.Practice)
		}
	}
	s.mu.Unlock()
	if len(data.Offices) > 0 {
		data.Selected = &data.Offices[0]
	}
	c.page(http.StatusOK, consentTmpl, data)
}

// consentDecision answers POST /portal/authapp.aspx, the form of the consent page: Allow
// redirects with a code, Deny with error=access_denied.
func (s *Server) consentDecision(c *call) {
	form := c.r.URL.Query()
	if mt, _, _ := mime.ParseMediaType(c.r.Header.Get("Content-Type")); mt == "application/x-www-form-urlencoded" {
		body, _ := url.ParseQuery(string(c.body))
		for k, v := range body { // the body wins over the query, as in http.Request.Form
			form[k] = v
		}
	}
	state, office := form.Get("state"), form.Get("office_id")
	s.mu.Lock()
	defer s.mu.Unlock()
	a, u, ok := s.checkRedirect(c, form.Get("app_id"), form.Get("redirect_uri"))
	if !ok {
		return
	}
	c.e.OfficeID = office
	switch form.Get("decision") {
	case "allow":
		if !s.officeExists(office) {
			c.badAuthRequest("Unknown practice: choose one of the listed offices.")
			return
		}
		code := s.store.newCode(a.ID, office, s.clock.now(), s.codeTTL)
		c.redirect(withParams(u, [2]string{"code", code}, [2]string{"state", state}))
	case "deny":
		c.redirect(withParams(u, [2]string{"error", "access_denied"},
			[2]string{"error_description", "The practice denied " + a.Name + " access to its data."},
			[2]string{"state", state}))
	default:
		c.badAuthRequest("Choose Allow or Deny.")
	}
}
