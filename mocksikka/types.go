package mocksikka

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Default credentials and identities, so that the mock works with no configuration.
// They are the values of the original integration notes; none of them is a real secret.
const (
	// DefaultAppID is the app_id of the app registered by default.
	DefaultAppID = "b0cac8c638d52c92f9c0312159fc4518"
	// DefaultAppKey is the app_key of the app registered by default.
	DefaultAppKey = "7beec2a9e62bd692eab2e0840b8bb2db"
	// DefaultAppName is the name shown on the consent page for an app without a name.
	DefaultAppName = "Parlae"
	// DefaultRedirectURI is the redirect URI registered for the default app. The default app
	// also accepts any http loopback URI (see App.AllowLoopback).
	DefaultRedirectURI = "https://app.parlae.ca/agent/setup/pms/callback"
	// DefaultOfficeID is the office of the first default practice, "Happy Dental Clinic" on Dentrix.
	DefaultOfficeID = "D36225"
	// DefaultSecretKey is the secret key of DefaultOfficeID.
	DefaultSecretKey = "STc3kSY7S4ORJHb5hE0r5yBwdeCFu7av0ahG9hPlDj0="
	// MapleLeafOfficeID is the default Eaglesoft office, "Maple Leaf Family Dentistry", with
	// two practices ("1" and "2").
	MapleLeafOfficeID = "D48213"
	// BrightSmilesOfficeID is the default Open Dental office, "Bright Smiles Orthodontics".
	BrightSmilesOfficeID = "D77104"
)

// Errors returned by the Server's configuration methods; match them with errors.Is.
var (
	// ErrInvalid reports an app, practice or setting that is missing a required value or is malformed.
	ErrInvalid = errors.New("mocksikka: invalid")
	// ErrExists reports an app or practice whose identity is already registered.
	ErrExists = errors.New("mocksikka: already exists")
	// ErrNotFound reports an unknown app or office.
	ErrNotFound = errors.New("mocksikka: not found")
)

// App is a third-party application registered with the mock, as in Sikka's developer portal.
type App struct {
	// ID is the public app_id.
	ID string `json:"app_id"`
	// Key is the app_key, a secret: it never appears in the journal or the log.
	Key string `json:"app_key"`
	// Name is shown on the consent page ("Allow <Name> to access your practice data");
	// empty means DefaultAppName.
	Name string `json:"name,omitempty"`
	// RedirectURIs are the redirect URIs registered for the app, matched exactly (byte for byte).
	RedirectURIs []string `json:"redirect_uris,omitempty"`
	// AllowLoopback additionally accepts any plain-http redirect URI on 127.0.0.1, localhost
	// or [::1], with any port, path and query (no user info, no fragment).
	AllowLoopback bool `json:"allow_loopback,omitempty"`
}

// Practice is one practice of an office, as Sikka lists it in authorized_practices. The JSON
// names are Sikka's own.
type Practice struct {
	// OfficeID identifies the office (the practice's Sikka installation); it is what keys are issued to.
	OfficeID string `json:"office_id"`
	// PracticeID identifies a practice inside its office, usually "1"; empty means "1".
	PracticeID string `json:"practice_id"`
	// SecretKey is the office's secret key, used with the request_key grant. It is a secret:
	// it never appears in the journal or the log.
	SecretKey string `json:"secret_key"`
	// Name is the practice name.
	Name string `json:"practice_name"`
	// PMS is the practice-management system as Sikka spells it (e.g. "Dentrix", "Opendental").
	PMS string `json:"practice_management_system"`
	// PMSVersion is the version of the practice-management system.
	PMSVersion string `json:"practice_management_system_version,omitempty"`
	// Address, City, State, Zip, Email and Phone describe the practice (Email and Phone appear
	// in /v4/practices only, as in Sikka's examples).
	Address string `json:"address,omitempty"`
	City    string `json:"city,omitempty"`
	State   string `json:"state,omitempty"`
	Zip     string `json:"zip,omitempty"`
	Email   string `json:"email,omitempty"`
	Phone   string `json:"phone,omitempty"`
	// TimeZone is the Windows name of the server's zone ("Eastern Standard Time") and
	// DifferenceInMinutes its distance from UTC in minutes ("300"), as authorized_practices
	// lists them.
	TimeZone            string `json:"practice_management_system_refresh_date_time_zone,omitempty"`
	DifferenceInMinutes string `json:"difference_in_minutes,omitempty"`
	// FinancialSystem and FinancialSystemVersion name an accounting system linked to the
	// practice; usually empty.
	FinancialSystem        string `json:"financial_system,omitempty"`
	FinancialSystemVersion string `json:"financial_system_version,omitempty"`
	// PartnerID and CustomerID are Sikka's partner and customer ids of the practice
	// (partner_id in authorized_practices, cust_id in /v4/practices).
	PartnerID  string `json:"partner_id,omitempty"`
	CustomerID string `json:"cust_id,omitempty"`
}

// DefaultApp returns the app registered when no WithApps option is given: DefaultAppID,
// DefaultAppKey, named "Parlae", with DefaultRedirectURI and loopback redirect URIs allowed.
func DefaultApp() App {
	return App{
		ID:            DefaultAppID,
		Key:           DefaultAppKey,
		Name:          DefaultAppName,
		RedirectURIs:  []string{DefaultRedirectURI},
		AllowLoopback: true,
	}
}

// DefaultPractices returns the practices configured when no WithPractices option is given:
// "Happy Dental Clinic" (DefaultOfficeID, Dentrix G7); an Eaglesoft office with two practices
// (MapleLeafOfficeID, so that show=all makes a difference); and an office on Open Dental
// (BrightSmilesOfficeID), spelled "Opendental" as real data does. Office ids follow Sikka's
// real shape: a letter and five digits, such as "D20006".
func DefaultPractices() []Practice {
	return []Practice{
		{
			OfficeID: DefaultOfficeID, PracticeID: "1", SecretKey: DefaultSecretKey,
			Name: "Happy Dental Clinic", PMS: "Dentrix", PMSVersion: "G7",
			Address: "123 Main Street", City: "Toronto", State: "ON", Zip: "M5V 2T6",
			Email: "frontdesk@happydental.example", Phone: "416-555-0134",
			TimeZone: "Eastern Standard Time", DifferenceInMinutes: "300", PartnerID: "1", CustomerID: "36225",
		},
		{
			OfficeID: MapleLeafOfficeID, PracticeID: "1", SecretKey: "q2Vd8mB1xN0rT5yU7iO9pA3sD6fG4hJ2kL8zX1cV5bM=",
			Name: "Maple Leaf Family Dentistry", PMS: "Eaglesoft", PMSVersion: "21.20",
			Address: "456 Queen Street West", City: "Toronto", State: "ON", Zip: "M5V 2A9",
			Email: "office@mapleleafdental.example", Phone: "416-555-0178",
			TimeZone: "Eastern Standard Time", DifferenceInMinutes: "300", PartnerID: "1", CustomerID: "48213",
			FinancialSystem: "QuickBooks", FinancialSystemVersion: "2024",
		},
		{
			OfficeID: MapleLeafOfficeID, PracticeID: "2", SecretKey: "q2Vd8mB1xN0rT5yU7iO9pA3sD6fG4hJ2kL8zX1cV5bM=",
			Name: "Maple Leaf Family Dentistry - West End", PMS: "Eaglesoft", PMSVersion: "21.20",
			Address: "980 Bloor Street West", City: "Toronto", State: "ON", Zip: "M6H 1L5",
			Email: "west@mapleleafdental.example", Phone: "416-555-0199",
			TimeZone: "Eastern Standard Time", DifferenceInMinutes: "300", PartnerID: "1", CustomerID: "48213",
			FinancialSystem: "QuickBooks", FinancialSystemVersion: "2024",
		},
		{
			OfficeID: BrightSmilesOfficeID, PracticeID: "1", SecretKey: "Zk3Lp9Qw2Er7Ty5Ui1Op4As8Df6Gh0Jk2Lz9Xc3Vb7N=",
			Name: "Bright Smiles Orthodontics", PMS: "Opendental", PMSVersion: "23.1.42",
			Address: "789 Rue Sainte-Catherine", City: "Montreal", State: "QC", Zip: "H3B 1B5",
			Email: "hello@brightsmiles.example", Phone: "514-555-0112",
			TimeZone: "Eastern Standard Time", DifferenceInMinutes: "300", PartnerID: "1", CustomerID: "77104",
		},
	}
}

// normalize fills defaults into a copy of a and checks it.
func (a App) normalize() (App, error) {
	if a.ID == "" || a.Key == "" {
		return a, fmt.Errorf("app needs app_id and app_key: %w", ErrInvalid)
	}
	if a.Name == "" {
		a.Name = DefaultAppName
	}
	a.RedirectURIs = append([]string(nil), a.RedirectURIs...)
	for _, raw := range a.RedirectURIs {
		u, err := url.Parse(raw)
		if err != nil {
			return a, fmt.Errorf("app %s: redirect URI %q: %w: %w", a.ID, raw, ErrInvalid, err)
		}
		if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Fragment != "" {
			return a, fmt.Errorf("app %s: redirect URI %q must be an absolute http(s) URL without fragment: %w", a.ID, raw, ErrInvalid)
		}
	}
	return a, nil
}

// normalize fills defaults into a copy of p and checks it.
func (p Practice) normalize() (Practice, error) {
	if p.PracticeID == "" {
		p.PracticeID = "1"
	}
	if strings.TrimSpace(p.OfficeID) == "" || p.SecretKey == "" || p.Name == "" {
		return p, fmt.Errorf("practice needs office_id, secret_key and practice_name: %w", ErrInvalid)
	}
	return p, nil
}
