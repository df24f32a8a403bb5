// Benchmarks against the library's peers: a module of its own, so that the
// peers (gorilla/csrf, gorilla/securecookie) stay out of the library's module
// graph and so out of its users'. go.work at the root joins it to the
// library's module; the replace points at the working tree above for a
// benchmark that imports the library.
module github.com/parlae/sikka-connect/benchmarks

go 1.26.0

replace github.com/parlae/sikka-connect => ../

require (
	github.com/gorilla/csrf v1.7.3
	github.com/gorilla/securecookie v1.1.2
	github.com/parlae/sikka-connect v0.0.0-00010101000000-000000000000
)

require (
	golang.org/x/oauth2 v0.37.0
	golang.org/x/sync v0.25.0 // indirect
)
