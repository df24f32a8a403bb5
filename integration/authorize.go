package integration

// AuthorizeURL returns the page of Sikka where a practice authorizes the app
// for a connect, with the app id, redirectURI and state added: the Sikka
// client's AuthorizeURL (its app id, and its page: sikka.WithAuthorizeURL,
// by default the API base URL's /portal/authapp.aspx). The HTTP layer
// (middleware) sends browsers there, so the app id and the page have one
// home, the client. "" when the client's page or base URL is invalid.
func (s *Service) AuthorizeURL(redirectURI, state string) string {
	return s.cfg.Sikka.AuthorizeURL(redirectURI, state)
}
