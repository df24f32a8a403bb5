module github.com/parlae/sikka-connect

go 1.25.0
