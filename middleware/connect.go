// The connect route: connect a practice that onboarded through the Sikka
// Marketplace by its office id and secret key.

package middleware

import (
	"context"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
)

// maxConnectBody bounds the body of a connect request (two short fields).
const maxConnectBody = 16 << 10

// ConnectBody is the JSON answer of POST {prefix}/connect to a fetch: the
// outcome as the redirect of a form would give it (Status, Reason), the
// text to show, and, on success, the account's connection. It never holds
// the secret key sent.
type ConnectBody struct {
	// Status is StatusSuccess or StatusError.
	Status string `json:"status"`
	// Reason is one of the Reason… values with StatusError.
	Reason string `json:"reason,omitempty"`
	// Message is ready to show: Message of the outcome (the app named
	// "this app"; a frontend that knows its name uses MessageFor), or
	// SuccessMessage on success.
	Message string `json:"message"`
	// Connection is the account's StatusBody after a success.
	Connection *StatusBody `json:"connection,omitempty"`
}

// connectRequest is what the connect route reads, from a form or JSON.
type connectRequest struct {
	OfficeID  string `json:"office_id"`
	SecretKey string `json:"secret_key"`
}

// errBadConnectBody: the body is neither a form nor JSON with the fields.
var errBadConnectBody = errors.New("middleware: connect wants a form or JSON with office_id and secret_key")

// connectOffice connects the signed-in account to the office named in the
// request (integration.Service.ConnectOffice), for same-origin POSTs only.
// A form post gets 303 to the frontend with status (and reason); a fetch
// gets a ConnectBody.
func (h *Handler) connectOffice(w http.ResponseWriter, r *http.Request, e *entry) {
	w.Header().Set("Cache-Control", "no-store")
	acct, ok := h.sameOriginAccount(w, r, e)
	if !ok {
		return
	}
	req, err := readConnectRequest(w, r)
	if err != nil {
		h.jsonError(w, e, http.StatusBadRequest, "bad_request", err)
		return
	}

	// Detached from the request, as the callback's connect: once a key is
	// being requested, a browser that goes away should not leave the
	// connect half done.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), connectTimeout)
	defer cancel()
	rec, err := h.cfg.Service.ConnectOffice(ctx, acct, req.OfficeID, req.SecretKey)
	body := ConnectBody{Status: StatusSuccess}
	code := http.StatusOK
	if err != nil {
		body.Status, body.Reason = StatusError, connectReason(err)
		body.Message = Message(body.Status, body.Reason)
		if code = connectErrorStatus[body.Reason]; code == 0 {
			code = http.StatusInternalServerError
		}
		e.err = err
	} else {
		b := statusBody(rec, true)
		body.Message, body.Connection = SuccessMessage(rec.PracticeName, rec.PMSType), &b
	}
	e.outcome, e.reason = body.Status, body.Reason
	if isFormPost(r) {
		e.httpStatus = http.StatusSeeOther
		w.Header().Set("Location", h.frontendURL(body.Status, body.Reason))
		w.WriteHeader(http.StatusSeeOther)
		return
	}
	h.json(w, e, code, body)
}

// connectErrorStatus is the HTTP status of a connect's JSON answer, by
// reason; any other reason is 500.
var connectErrorStatus = map[string]int{
	ReasonNotAuthorized:       http.StatusNotFound,
	ReasonInvalidCredentials:  http.StatusForbidden,
	ReasonTooManyAttempts:     http.StatusTooManyRequests,
	ReasonAlreadyConnected:    http.StatusConflict,
	ReasonProviderUnavailable: http.StatusServiceUnavailable,
}

// readConnectRequest reads office_id and secret_key from a form (URL-encoded
// or multipart) or a JSON object, at most maxConnectBody bytes.
func readConnectRequest(w http.ResponseWriter, r *http.Request) (connectRequest, error) {
	r.Body = http.MaxBytesReader(w, r.Body, maxConnectBody)
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mt {
	case "application/json":
		var req connectRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			return connectRequest{}, errBadConnectBody // the error could quote the body
		}
		return req, nil
	case "application/x-www-form-urlencoded", "multipart/form-data":
		parse := r.ParseForm
		if mt == "multipart/form-data" {
			parse = func() error { return r.ParseMultipartForm(maxConnectBody) }
		}
		if err := parse(); err != nil {
			return connectRequest{}, errBadConnectBody
		}
		// PostForm: the body only, never the URL (a secret in a URL ends up in logs).
		return connectRequest{OfficeID: r.PostForm.Get("office_id"), SecretKey: r.PostForm.Get("secret_key")}, nil
	}
	return connectRequest{}, errBadConnectBody
}
