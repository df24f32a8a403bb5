// Package redact is the module's one spelling of a hidden secret, for the
// String, Format, MarshalJSON and LogValue methods of the types that hold
// secrets (sikka, secretstore, middleware). It imports nothing, so sikka
// stays free of third-party imports.
package redact

// Marker stands in for a secret in every rendering meant for people or logs.
const Marker = "[REDACTED]"

// IfSet returns Marker for a secret that is set and "" for an empty one, so
// that a missing secret stays visible as missing.
func IfSet(s string) string {
	if s == "" {
		return ""
	}
	return Marker
}
