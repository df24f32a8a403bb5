// The status route and the JSON answers of status and disconnect.

package middleware

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/parlae/sikka-connect/integration"
)

// StatusBody is the JSON of the status route (and of a JSON disconnect).
// It never holds a secret, nor the secret's reference.
type StatusBody struct {
	// Connected is true when Status is ACTIVE.
	Connected bool `json:"connected"`
	// Status is the integration's status (ACTIVE, NEEDS_REAUTH, REVOKED),
	// or NotConnected when the account never connected.
	Status string `json:"status"`
	// PracticeName, PMSType and OfficeID describe the practice of the
	// account's integration, if it has one.
	PracticeName string `json:"practiceName,omitempty"`
	PMSType      string `json:"pmsType,omitempty"`
	OfficeID     string `json:"officeId,omitempty"`
	// ConnectedAt is when the account last completed a connect.
	ConnectedAt *time.Time `json:"connectedAt,omitempty"`
	// Message is ready to show: "Connected to Happy Dental Clinic
	// (Dentrix)" when connected.
	Message string `json:"message"`
	// LastDataRefresh is when Sikka last reported a refresh of the
	// practice's data (its Data_Refresh webhook, received by package
	// webhook), NextDataSync when it plans the next one, PMSVersion the
	// PMS's version: absent until the first report (integration.Record).
	LastDataRefresh *time.Time `json:"lastDataRefresh,omitempty"`
	NextDataSync    *time.Time `json:"nextDataSync,omitempty"`
	PMSVersion      string     `json:"pmsVersion,omitempty"`
}

// NotConnected is StatusBody.Status for an account with no integration.
const NotConnected = "NOT_CONNECTED"

func statusBody(rec integration.Record, found bool) StatusBody {
	if !found {
		return StatusBody{Status: NotConnected, Message: "Not connected."}
	}
	b := StatusBody{
		Connected:    rec.Status == integration.StatusActive,
		Status:       string(rec.Status),
		PracticeName: rec.PracticeName,
		PMSType:      rec.PMSType,
		OfficeID:     rec.OfficeID,
	}
	b.ConnectedAt = optionalTime(rec.ConnectedAt)
	b.LastDataRefresh, b.NextDataSync = optionalTime(rec.LastDataRefresh), optionalTime(rec.NextDataSync)
	b.PMSVersion = rec.PMSVersion
	label := practiceLabel(rec.PracticeName, rec.PMSType)
	switch rec.Status {
	case integration.StatusActive:
		b.Message = "Connected to " + label
	case integration.StatusNeedsReauth:
		b.Message = "The connection to " + label + " needs to be authorized again."
	default:
		b.Message = "Not connected."
	}
	return b
}

// optionalTime is t in UTC, or nil for the zero time ("not yet").
func optionalTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

// lookup returns the account's StatusBody.
func (h *Handler) lookup(ctx context.Context, acct string) (StatusBody, error) {
	rec, err := h.cfg.Service.Status(ctx, acct)
	if errors.Is(err, integration.ErrNotFound) {
		return statusBody(rec, false), nil
	}
	if err != nil {
		return StatusBody{}, err
	}
	return statusBody(rec, true), nil
}

// status answers the signed-in account's StatusBody.
func (h *Handler) status(w http.ResponseWriter, r *http.Request, e *entry) {
	acct, err := h.account(r)
	if err != nil {
		h.jsonError(w, e, http.StatusUnauthorized, "not_signed_in", err)
		return
	}
	e.account = acct
	b, err := h.lookup(r.Context(), acct)
	if err != nil {
		h.jsonError(w, e, http.StatusInternalServerError, ReasonInternal, err)
		return
	}
	h.json(w, e, http.StatusOK, b)
}

func (h *Handler) json(w http.ResponseWriter, e *entry, code int, v any) {
	e.httpStatus = code
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v) //nolint:errcheck // the client went away
}

// errorBody is the JSON of a refused status or disconnect request.
type errorBody struct {
	Error string `json:"error"`
}

func (h *Handler) jsonError(w http.ResponseWriter, e *entry, code int, name string, err error) {
	e.err = err
	h.json(w, e, code, errorBody{Error: name})
}
