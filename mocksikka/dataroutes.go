package mocksikka

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// codeNotImplemented is the mock's answer to a documented Sikka endpoint or parameter it does
// not implement (distinct from 404 API2009, a path Sikka does not have either).
const codeNotImplemented = "MOCK5001"

// notImplementedGET are the documented GET data endpoints the mock does not serve (sheet
// section 5, "Remaining"); notImplementedPOST the documented POST ones.
var (
	notImplementedGET = strings.Fields(`accounts_receivables accounts_receivables_by_patients
		insurance_accounts_receivables insurance_companies insurance_company_details insurance_estimate insurance_eligibility
		patient_extended_info patient_treatment_history patient_contract_roll_charges patient_contracts patient_contracts_details
		patient_statuses patient_status_history patient_documents patient_documents_display patient_existing_services
		patient_images patient_addresses patient_charts patient_eligibility_payers patient_xrays patients_ssn patient360
		veterinary_patients veterinary_clinics veterinary_product_details veterinary_product_inventory
		guarantors guarantors_v2 guarantor_accounts guarantor_patient_mapping many_guarantors_one_patient contact_details
		provider_time_clock provider_mapping pms_users pms_general_settings outside_doctors
		procedure_codes procedure_categories procedure_category_mapping appointment_statuses payment_plans reminders
		fee_schedules referrals multiple_referrals perio_charts clinical_conditions clinical_note_templates
		treatment_plan_statuses treatment_plan_phases prescriptions employers drugs claim_descriptions
		lab_cases lab_details lab_panels lab_profiles lab_sub_profiles lab_profile_invoice_items lab_requests lab_results lab_test_details
		medical_history note_types payors pet_documents pet_nutrition purchase_orders shelter_patients subscribers vendors
		optometry_product_details suspended_credit_transactions preregistered_appointments preregistered_patients
		applications animal_vital_signs practice_schedule practice_resources practice_location products
		hearing_aid_products hearing_care_product_details manufacturers pending_procedures xrays kpis staging_details
		finance/accounts finance/balances finance/budgets finance/customers finance/employee finance/payroll_details
		finance/transactions finance/vendors data_sync_status remote_command remote_command_status health_check supported_pmses
		patients_v2`)
	notImplementedPOST = []string{"patient_eligibility", "sandbox/patient_eligibility", "practice_query"}
)

// paymentPath is the route key of every path under /v4/payment/ (documented as payment/*).
const paymentPath = "/v4/payment/*"

// addDataRoutes adds the data endpoints, practice_events and the documented endpoints the mock
// does not implement to routes. A method a route already has is kept, so that other files
// (writebacks) may register POST on the same paths.
func (s *Server) addDataRoutes(routes map[string]map[string]route) {
	add := func(path, method string, rt route) {
		if routes[path] == nil {
			routes[path] = map[string]route{}
		}
		if _, taken := routes[path][method]; !taken {
			routes[path][method] = rt
		}
	}
	for name, ep := range dataEndpoints {
		add("/v4/"+name, http.MethodGet, route{handle: s.dataHandler(ep), auth: authKey})
	}
	add("/v4/practice_events", http.MethodGet, route{handle: s.practiceEvents, auth: authKey})
	for _, name := range notImplementedGET {
		add("/v4/"+name, http.MethodGet, route{handle: notImplemented})
	}
	for _, name := range notImplementedPOST {
		add("/v4/"+name, http.MethodPost, route{handle: notImplemented})
	}
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		add(paymentPath, m, route{handle: notImplemented})
	}
	add("/_mock/data", http.MethodPost, route{handle: s.adminLoadData, admin: true})
}

// notImplemented answers 501 MOCK5001 for a documented endpoint the mock does not serve.
func notImplemented(c *call) {
	c.fail(http.StatusNotImplemented, codeNotImplemented, "Not implemented by the mock",
		c.r.Method+" "+c.r.URL.Path+" is a documented Sikka endpoint that mocksikka does not implement. "+
			"The package documentation of mocksikka lists the data endpoints it serves.")
}

// eventTables maps practice_events' events values to the tables the mock stores; the other
// documented values (accounts_receivables, guarantors, practices…) have no events.
var eventTables = map[string]string{
	"patients": tblPatients, "appointments": tblAppointments, "transactions": tblTransactions,
	"claims": tblClaims, "treatment_plans": tblTreatment, "providers": tblProviders,
}

// eventNames are the documented values of practice_events' events parameter.
var eventNames = []string{"patients", "appointments", "transactions", "accounts_receivables", "guarantors",
	"guarantors_v2", "practices", "providers", "treatment_plans", "claims", "claim_descriptions", "prescriptions",
	"reminders", "lab_panels"}

// eventFields returns the item fields of practice_events for a table's endpoint: for
// appointments exactly Sikka's example; otherwise the endpoint's fields (as fields= and
// get_all choose them) with loadeddate and flag after guarantor_href (or first) and changes
// last.
func eventFields(fields []string) []string {
	out := make([]string, 0, len(fields)+3)
	at := slices.Index(fields, "guarantor_href") + 1
	out = append(out, fields[:at]...)
	out = append(out, "loadeddate", "flag")
	out = append(out, fields[at:]...)
	return append(out, "changes")
}

// practiceEvents answers GET /v4/practice_events: the changes of one kind of record (events,
// required) whose loadeddate falls in the last interval minutes (1 to 1440), or else between
// loaded_startdate and loaded_enddate (yyyy-mm-dd, whole days, or yyyy-MM-ddTHH:mm:ss), or
// else every change since the data was generated; oldest first.
func (s *Server) practiceEvents(c *call) {
	began := time.Now()
	page, ok := c.pageQuery()
	if !ok {
		return
	}
	q := c.query()
	events := q.Get("events")
	if events == "" {
		c.fail(http.StatusBadRequest, codeParamMissing, "Missing Parameter",
			"events is required: one of "+strings.Join(eventNames, ", ")+".")
		return
	}
	if !slices.Contains(eventNames, events) {
		c.fail(http.StatusBadRequest, codeParamInvalid, "Invalid Parameter",
			"events must be one of "+strings.Join(eventNames, ", ")+".")
		return
	}
	var from, to time.Time // to exclusive
	interval := q.Get("interval")
	if interval != "" {
		n, err := strconv.Atoi(interval)
		if err != nil || n < 1 || n > 1440 {
			c.fail(http.StatusBadRequest, codeParamInvalid, "Invalid Parameter", "interval is minutes, from 1 to 1440.")
			return
		}
	}
	for _, p := range []struct {
		name string
		dst  *time.Time
		end  bool
	}{{"loaded_startdate", &from, false}, {"loaded_enddate", &to, true}} {
		v := q.Get(p.name)
		if v == "" || interval != "" {
			continue
		}
		if t, err := time.Parse(time.DateOnly, v); err == nil {
			if p.end {
				t = t.AddDate(0, 0, 1)
			}
			*p.dst = t
		} else if t, err := time.Parse(sikkaTime, v); err == nil {
			if p.end {
				t = t.Add(time.Second)
			}
			*p.dst = t
		} else {
			c.fail(http.StatusBadRequest, codeParamInvalid, "Invalid Parameter",
				p.name+" must be yyyy-mm-dd or yyyy-MM-ddTHH:mm:ss, e.g. 2026-03-10 or 2026-03-10T14:30:00.")
			return
		}
	}
	tbl, stored := eventTables[events]
	var plan []fieldSpec
	var sc *tableSchema
	if stored {
		sc, _ = schemaOf(tbl)
		f := sheetFields[tbl]
		ev := sheetFields["practice_events"].def
		def := eventFields(f.def)
		if tbl == tblAppointments {
			def = ev
		}
		plan, _ = fieldPlan(dataEndpoints[tbl], sc, def, eventFields(f.all), q.Get("fields"), false)
	}
	k, now := s.lockKey(c)
	if k == nil {
		return
	}
	if interval != "" {
		n, _ := strconv.Atoi(interval)
		from, to = now.Add(-time.Duration(n)*time.Minute), now.Add(time.Second)
	}
	ds := s.officePracticesLocked(k.officeID, q.Get("practice_id"))
	if len(ds) == 0 {
		s.mu.Unlock()
		c.fail(http.StatusUnauthorized, codePracticeNotAuthorized, "Unauthorized",
			"practice_id "+q.Get("practice_id")+" is not a practice of this request key's office; /v4/practices lists them.")
		return
	}
	var segs []segment
	if stored {
		for _, d := range ds {
			t := newTable(sc)
			var evs []dataEvent
			for _, e := range d.events {
				if e.table != tbl || (!from.IsZero() && e.when.Before(from)) || (!to.IsZero() && !e.when.Before(to)) {
					continue
				}
				_, _ = t.add(e.vals)
				evs = append(evs, e)
			}
			segs = append(segs, segment{d: d, t: t, all: true, events: evs})
		}
	}
	s.writeSegmentsLocked(c, page, segs, plan, began)
}
