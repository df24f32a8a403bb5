package sikka

import (
	"strings"
	"unicode"
)

// pmsDisplayNames maps a practice-management system name, lower-cased with
// everything but letters and digits removed, to its display name.
var pmsDisplayNames = map[string]string{
	"dentrix":            "Dentrix",
	"dentrixenterprise":  "Dentrix Enterprise",
	"dentrixascend":      "Dentrix Ascend",
	"eaglesoft":          "Eaglesoft",
	"pattersoneaglesoft": "Eaglesoft",
	"opendental":         "Open Dental",
	"easydental":         "Easy Dental",
	"softdent":           "SoftDent",
	"practiceworks":      "PracticeWorks",
	"curvedental":        "Curve Dental",
	"curvehero":          "Curve Dental",
	"denticon":           "Denticon",
	"dentimax":           "DentiMax",
	"abeldent":           "ABELDent",
	"cleardent":          "ClearDent",
	"macpractice":        "MacPractice",
	"orthotrac":          "OrthoTrac",
	"dolphin":            "Dolphin",
	"tracker":            "Tracker",
	"winoms":             "WinOMS",
	"axium":              "axiUm",
}

// NormalizePMS returns the display name of a practice-management system as
// Sikka spells it in its many ways: "Opendental", "OpenDental", "open dental"
// and "OPEN_DENTAL" all give "Open Dental"; "DENTRIX" gives "Dentrix";
// "EagleSoft" gives "Eaglesoft". A name it does not know comes back trimmed,
// with runs of white space collapsed, otherwise unchanged. "" stays "".
func NormalizePMS(raw string) string {
	var key strings.Builder
	for _, r := range strings.ToLower(raw) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			key.WriteRune(r)
		}
	}
	if name, ok := pmsDisplayNames[key.String()]; ok {
		return name
	}
	return strings.Join(strings.Fields(raw), " ")
}
