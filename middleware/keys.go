package middleware

// ParseKeys reads state keys in the form of SIKKA_STATE_KEYS:
// "id:base64secret[,id:base64secret…]", the first signing, and checks them by
// the rules of New. Its errors never quote a secret.
func ParseKeys(v string) ([]Key, error) {
	keys, err := parseKeys(v)
	if err != nil {
		return nil, err
	}
	if err := validateKeys(keys); err != nil {
		return nil, err
	}
	return keys, nil
}
