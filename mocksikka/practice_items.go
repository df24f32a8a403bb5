package mocksikka

import (
	"net/url"
	"time"
)

// listItem is one item of a list envelope, written without reflection by appendJSON.
type listItem interface {
	appendJSON(b []byte) []byte
}

// authorizedPracticeItem is one item of GET /v4/authorized_practices: exactly the fields of
// Sikka's example, in its order (the same with fields=get_all). Every value is a string; an
// unknown value is "".
type authorizedPracticeItem struct {
	Href                                        string `json:"href"`
	City                                        string `json:"city"`
	State                                       string `json:"state"`
	PracticeID                                  string `json:"practice_id"`
	Address                                     string `json:"address"`
	Zip                                         string `json:"zip"`
	OfficeID                                    string `json:"office_id"`
	Domain                                      string `json:"domain"`
	SecretKey                                   string `json:"secret_key"`
	PracticeName                                string `json:"practice_name"`
	PracticeManagementSystem                    string `json:"practice_management_system"`
	FinancialSystem                             string `json:"financial_system"`
	PracticeManagementSystemRefreshDate         string `json:"practice_management_system_refresh_date"`
	DataSynchronizationDate                     string `json:"data_synchronization_date"`
	DataInsertDate                              string `json:"data_insert_date"`
	PracticeManagementSystemVersion             string `json:"practice_management_system_version"`
	PracticeManagementSystemRefreshDateTimeZone string `json:"practice_management_system_refresh_date_time_zone"`
	PartnerID                                   string `json:"partner_id"`
	FinancialSystemRefreshDate                  string `json:"financial_system_refresh_date"`
	FinancialSystemVersion                      string `json:"financial_system_version"`
	DifferenceInMinutes                         string `json:"difference_in_minutes"`
}

// appendJSON writes p as encoding/json does.
func (p authorizedPracticeItem) appendJSON(b []byte) []byte {
	b = append(b, '{')
	b = appendJSONField(b, true, "href", p.Href)
	b = appendJSONField(b, false, "city", p.City)
	b = appendJSONField(b, false, "state", p.State)
	b = appendJSONField(b, false, "practice_id", p.PracticeID)
	b = appendJSONField(b, false, "address", p.Address)
	b = appendJSONField(b, false, "zip", p.Zip)
	b = appendJSONField(b, false, "office_id", p.OfficeID)
	b = appendJSONField(b, false, "domain", p.Domain)
	b = appendJSONField(b, false, "secret_key", p.SecretKey)
	b = appendJSONField(b, false, "practice_name", p.PracticeName)
	b = appendJSONField(b, false, "practice_management_system", p.PracticeManagementSystem)
	b = appendJSONField(b, false, "financial_system", p.FinancialSystem)
	b = appendJSONField(b, false, "practice_management_system_refresh_date", p.PracticeManagementSystemRefreshDate)
	b = appendJSONField(b, false, "data_synchronization_date", p.DataSynchronizationDate)
	b = appendJSONField(b, false, "data_insert_date", p.DataInsertDate)
	b = appendJSONField(b, false, "practice_management_system_version", p.PracticeManagementSystemVersion)
	b = appendJSONField(b, false, "practice_management_system_refresh_date_time_zone", p.PracticeManagementSystemRefreshDateTimeZone)
	b = appendJSONField(b, false, "partner_id", p.PartnerID)
	b = appendJSONField(b, false, "financial_system_refresh_date", p.FinancialSystemRefreshDate)
	b = appendJSONField(b, false, "financial_system_version", p.FinancialSystemVersion)
	b = appendJSONField(b, false, "difference_in_minutes", p.DifferenceInMinutes)
	return append(b, '}')
}

// practiceDataItem is one item of GET /v4/practices: the fields of Sikka's default example in
// its order, and with All (fields=get_all) also country, national_provider_identifier,
// website and is_main_office where Sikka's get_all example puts them. There is no office_id
// and no secret_key. Every value is a string.
type practiceDataItem struct {
	All bool // fields=get_all; not a field of the answer

	Href, PatientHref, AddressLine1, AddressLine2, City, State, Zipcode, Email    string
	ProviderHref, PracticeID, AppointmentHref, GuarantorHref, Country             string
	TransactionHref, Description, Name, CustID, NationalProviderIdentifier, Phone string
	Website, IsMainOffice                                                         string
}

// MarshalJSON writes p as the answer carries it (for encoding/json users of listEnvelope).
func (p practiceDataItem) MarshalJSON() ([]byte, error) { return p.appendJSON(nil), nil }

// appendJSON writes p with Sikka's field names and order.
func (p practiceDataItem) appendJSON(b []byte) []byte {
	b = append(b, '{')
	b = appendJSONField(b, true, "href", p.Href)
	b = appendJSONField(b, false, "patient_href", p.PatientHref)
	b = appendJSONField(b, false, "address_line1", p.AddressLine1)
	b = appendJSONField(b, false, "address_line2", p.AddressLine2)
	b = appendJSONField(b, false, "city", p.City)
	b = appendJSONField(b, false, "state", p.State)
	b = appendJSONField(b, false, "zipcode", p.Zipcode)
	b = appendJSONField(b, false, "email", p.Email)
	b = appendJSONField(b, false, "provider_href", p.ProviderHref)
	b = appendJSONField(b, false, "practice_id", p.PracticeID)
	b = appendJSONField(b, false, "appointment_href", p.AppointmentHref)
	b = appendJSONField(b, false, "guarantor_href", p.GuarantorHref)
	if p.All {
		b = appendJSONField(b, false, "country", p.Country)
	}
	b = appendJSONField(b, false, "transaction_href", p.TransactionHref)
	b = appendJSONField(b, false, "description", p.Description)
	b = appendJSONField(b, false, "name", p.Name)
	b = appendJSONField(b, false, "cust_id", p.CustID)
	if p.All {
		b = appendJSONField(b, false, "national_provider_identifier", p.NationalProviderIdentifier)
	}
	b = appendJSONField(b, false, "phone", p.Phone)
	if p.All {
		b = appendJSONField(b, false, "website", p.Website)
		b = appendJSONField(b, false, "is_main_office", p.IsMainOffice)
	}
	return append(b, '}')
}

// authorizedItem renders p as GET /v4/authorized_practices lists it. Its href is the
// absolute /v4/authorized_practices/{office_id} on the mock's own base URL; the dates are
// the mock clock's: data_insert_date when p was configured, the last sync five minutes and
// the last PMS refresh an hour before now (the financial system's too, when p has one).
func (c *call) authorizedItem(p practiceRec, now time.Time) authorizedPracticeItem {
	refresh := now.Add(-time.Hour).UTC().Format(sikkaTime)
	finRefresh := ""
	if p.FinancialSystem != "" {
		finRefresh = refresh
	}
	return authorizedPracticeItem{
		Href:                                c.baseURL() + "/v4/authorized_practices/" + url.PathEscape(p.OfficeID),
		City:                                p.City,
		State:                               p.State,
		PracticeID:                          p.PracticeID,
		Address:                             p.Address,
		Zip:                                 p.Zip,
		OfficeID:                            p.OfficeID,
		Domain:                              "Dental",
		SecretKey:                           p.SecretKey,
		PracticeName:                        p.Name,
		PracticeManagementSystem:            p.PMS,
		FinancialSystem:                     p.FinancialSystem,
		PracticeManagementSystemRefreshDate: refresh,
		DataSynchronizationDate:             now.Add(-5 * time.Minute).UTC().Format(sikkaTime),
		DataInsertDate:                      p.added.UTC().Format(sikkaTime),
		PracticeManagementSystemVersion:     p.PMSVersion,
		PracticeManagementSystemRefreshDateTimeZone: p.TimeZone,
		PartnerID:                  p.PartnerID,
		FinancialSystemRefreshDate: finRefresh,
		FinancialSystemVersion:     p.FinancialSystemVersion,
		DifferenceInMinutes:        p.DifferenceInMinutes,
	}
}

// practiceItem renders p as GET /v4/practices lists it: the address as address_line1 (line 2
// empty), the name as name and description, the links to the practice's data endpoints
// filtered by its practice_id, country "CA" for a Canadian-looking state and "US" otherwise,
// is_main_office "True" for practice "1". These are the mock's choices: Sikka's examples show
// the names, not what fills them.
func (c *call) practiceItem(p practiceRec, all bool) practiceDataItem {
	base := c.baseURL() + "/v4/"
	q := "?practice_id=" + url.QueryEscape(p.PracticeID)
	main := "False"
	if p.PracticeID == "1" {
		main = "True"
	}
	return practiceDataItem{
		All:             all,
		Href:            base + "practices" + q,
		PatientHref:     base + "patients" + q,
		AddressLine1:    p.Address,
		City:            p.City,
		State:           p.State,
		Zipcode:         p.Zip,
		Email:           p.Email,
		ProviderHref:    base + "providers" + q,
		PracticeID:      p.PracticeID,
		AppointmentHref: base + "appointments" + q,
		GuarantorHref:   base + "guarantors" + q,
		Country:         country(p.State),
		TransactionHref: base + "transactions" + q,
		Description:     p.Name,
		Name:            p.Name,
		CustID:          p.CustomerID,
		Phone:           p.Phone,
		IsMainOffice:    main,
	}
}

// country guesses a country from a state or province code: "CA" for a Canadian province,
// "US" for any other non-empty code, "" when there is none.
func country(state string) string {
	switch state {
	case "":
		return ""
	case "AB", "BC", "MB", "NB", "NL", "NS", "NT", "NU", "ON", "PE", "QC", "SK", "YT":
		return "CA"
	}
	return "US"
}
