package secretstore

import (
	"fmt"
	"strings"
)

// Limits on names and account ids.
const (
	// MaxNameLen is the longest secret name accepted (AWS Secrets Manager's
	// own limit).
	MaxNameLen = 512
	// MaxAccountIDLen is the longest account id accepted by NameTemplate.
	MaxAccountIDLen = 128
	// AccountIDPlaceholder is what a NameTemplate replaces with the account id.
	AccountIDPlaceholder = "{accountId}"
)

// DefaultNameTemplate names a practice's secret after its account.
const DefaultNameTemplate NameTemplate = "parlae/pms/sikka/{accountId}"

// NameTemplate builds secret names from account ids. It must contain
// AccountIDPlaceholder exactly once; the rest follows ValidateName.
type NameTemplate string

// Validate reports, as ErrInvalidName, whether t is usable.
func (t NameTemplate) Validate() error {
	s := string(t)
	if n := strings.Count(s, AccountIDPlaceholder); n != 1 {
		return fmt.Errorf("%w: name template %q must contain %s exactly once (found %d)", ErrInvalidName, s, AccountIDPlaceholder, n)
	}
	if err := ValidateName(strings.Replace(s, AccountIDPlaceholder, "x", 1)); err != nil {
		return fmt.Errorf("name template %q: %w", s, err)
	}
	return nil
}

// Name returns the secret name for accountID, after validating the template
// and the account id (see ValidateAccountID). Errors wrap ErrInvalidName.
func (t NameTemplate) Name(accountID string) (string, error) {
	if err := t.Validate(); err != nil {
		return "", err
	}
	if err := ValidateAccountID(accountID); err != nil {
		return "", err
	}
	name := strings.Replace(string(t), AccountIDPlaceholder, accountID, 1)
	if err := ValidateName(name); err != nil {
		return "", err
	}
	return name, nil
}

// AccountIDRule says which account ids ValidateAccountID accepts, in the
// words its errors use.
const AccountIDRule = "1-128 characters among ASCII letters, digits and _-.@+=, without \"..\""

// ValidateAccountID accepts 1 to MaxAccountIDLen characters among ASCII
// letters, digits, '_', '-', '.', '@', '+' and '=', not containing "..": wide
// enough for e-mail addresses (a+b@x.com), and every one of them is a valid
// secret name segment on every backend (the characters are AWS Secrets
// Manager's, less the '/' that separates Vault path segments). Anything else
// (slashes, spaces, control characters, non-ASCII) wraps ErrInvalidName with
// a message that states the rule (AccountIDRule).
func ValidateAccountID(id string) error {
	const allowed = AccountIDRule
	switch {
	case id == "":
		return fmt.Errorf("%w: account id is empty (allowed: %s)", ErrInvalidName, allowed)
	case len(id) > MaxAccountIDLen:
		return fmt.Errorf("%w: account id is %d bytes long (allowed: %s)", ErrInvalidName, len(id), allowed)
	case id == "." || strings.Contains(id, ".."):
		return fmt.Errorf("%w: account id %q (allowed: %s)", ErrInvalidName, id, allowed)
	}
	for i := 0; i < len(id); i++ {
		if !isAlnum(id[i]) && !strings.ContainsRune(accountIDPunct, rune(id[i])) {
			return fmt.Errorf("%w: account id %q has a disallowed character at byte %d (allowed: %s)", ErrInvalidName, id, i, allowed)
		}
	}
	return nil
}

// accountIDPunct is what ValidateAccountID accepts besides letters and
// digits: namePunct without '/'.
const accountIDPunct = "_-.@+="

// namePunct is what ValidateName accepts besides letters and digits (AWS
// Secrets Manager's set).
const namePunct = "/_+=.@-"

// ValidateName accepts secret names of 1 to MaxNameLen characters among ASCII
// letters, digits and "/_+=.@-" (the characters AWS Secrets Manager allows),
// made of '/'-separated segments that are neither empty, "." nor "..": no
// leading, trailing or doubled slash. Anything else wraps ErrInvalidName.
// Every Store validates names with it before calling its backend.
func ValidateName(name string) error {
	const allowed = "1-512 characters among letters, digits and /_+=.@-, in non-empty '/'-separated segments other than . and .."
	switch {
	case name == "":
		return fmt.Errorf("%w: secret name is empty (allowed: %s)", ErrInvalidName, allowed)
	case len(name) > MaxNameLen:
		return fmt.Errorf("%w: secret name is %d bytes long (allowed: %s)", ErrInvalidName, len(name), allowed)
	}
	for i := 0; i < len(name); i++ {
		if !isAlnum(name[i]) && !strings.ContainsRune(namePunct, rune(name[i])) {
			return fmt.Errorf("%w: secret name %q has a disallowed character at byte %d (allowed: %s)", ErrInvalidName, name, i, allowed)
		}
	}
	for _, seg := range strings.Split(name, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("%w: secret name %q has an empty, . or .. segment (allowed: %s)", ErrInvalidName, name, allowed)
		}
	}
	return nil
}

func isAlnum(b byte) bool {
	return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9'
}
