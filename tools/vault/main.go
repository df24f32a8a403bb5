// Command vault builds the real HashiCorp Vault server from the Go module proxy,
// for the project's tests only. It is its own module so that the project's go.mod
// does not inherit Vault's requirements. scripts/test.sh builds it once into a
// cache folder outside the repository and reuses it.
package main

import (
	"os"

	"github.com/hashicorp/vault/command"
)

func main() {
	os.Exit(command.Run(os.Args[1:]))
}
