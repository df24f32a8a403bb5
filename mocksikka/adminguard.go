package mocksikka

import (
	"fmt"
	"mime"
	"net"
	"net/http"
	"strings"
)

// The admin API under /_mock/ changes what the mock answers, so it is kept away from web pages:
//
//   - every request needs a loopback Host (127.x.x.x, [::1], localhost, any port) or one given
//     with WithAdminHosts, else 403 (MOCK4003): a page that rebinds its own name to the mock's
//     address still sends its own name as Host;
//   - every POST, PUT, PATCH and DELETE needs Content-Type: application/json (parameters
//     allowed), with a body or without one, else 415 (API1006): a cross-site page can send
//     text/plain, a form or no body without asking, but application/json only after a CORS
//     preflight, which the mock never grants.

// hostPort is a Host header split into a lower-case host (brackets removed) and a port.
type hostPort struct{ host, port string }

// splitHost splits a Host header value or an admin host entry; port is "" when there is none.
func splitHost(h string) hostPort {
	if host, port, err := net.SplitHostPort(h); err == nil {
		return hostPort{strings.ToLower(host), port}
	}
	return hostPort{strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")), ""}
}

// checkAdminHost reports an admin host entry that could never match a Host header.
func checkAdminHost(h string) error {
	bad := h == "" || strings.ContainsAny(h, "/\\@,?# \t\r\n")
	if !bad {
		hp := splitHost(h)
		bad = hp.host == "" || strings.Trim(hp.port, "0123456789") != ""
	}
	if bad {
		return fmt.Errorf("admin host %q: give a host or host:port such as mocksikka:8089, without scheme, path or user info: %w", h, ErrInvalid)
	}
	return nil
}

// adminHostAllowed reports whether the admin API answers a request with this Host header.
func (s *Server) adminHostAllowed(host string) bool {
	if host == "" {
		return false
	}
	hp := splitHost(host)
	if hp.host == "localhost" {
		return true
	}
	if ip := net.ParseIP(hp.host); ip != nil && ip.IsLoopback() {
		return true
	}
	for _, a := range s.adminHosts {
		if a.host == hp.host && (a.port == "" || a.port == hp.port) {
			return true
		}
	}
	return false
}

// changesState reports whether an admin request with this method must be JSON.
func changesState(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return true
}

// isJSON reports whether a Content-Type header is application/json, parameters allowed.
func isJSON(ct string) bool {
	if ct == "application/json" { // the usual header needs no parsing
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == "application/json"
}

// guardAdmin answers 403 or 415 when an admin request may not proceed (see above).
func (s *Server) guardAdmin(c *call, checkType bool) bool {
	if !s.adminHostAllowed(c.r.Host) {
		c.fail(http.StatusForbidden, codeAdminHost, "Host not allowed on the admin API",
			fmt.Sprintf("The admin API under /_mock/ answers only a loopback Host (127.0.0.1, [::1] or localhost, any port) "+
				"or one configured with -admin-host (mocksikka.WithAdminHosts); this request's Host was %q. "+
				"Send it to a loopback address, or configure that host.", clip(c.r.Host)))
		return false
	}
	if checkType && changesState(c.r.Method) && !isJSON(c.r.Header.Get("Content-Type")) {
		c.fail(http.StatusUnsupportedMediaType, codeBadContentType, "Unsupported content type",
			"Send every POST, PUT and DELETE of the admin API with Content-Type: application/json, "+
				"even one without a body (curl: -H 'Content-Type: application/json').")
		return false
	}
	return true
}
