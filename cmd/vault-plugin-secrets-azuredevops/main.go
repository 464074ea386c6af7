// Command vault-plugin-secrets-azuredevops is a HashiCorp Vault secrets engine that mints Azure
// DevOps PATs and Microsoft Entra access tokens as leases. Vault starts it; it is not run by hand.
// The engine itself is in package azuredevops.
package main

import (
	"fmt"
	"os"

	"github.com/hashicorp/vault/sdk/plugin"

	"github.com/patinject/patinject/cmd/vault-plugin-secrets-azuredevops/azuredevops"
)

func main() {
	if err := plugin.ServeMultiplex(&plugin.ServeOpts{BackendFactoryFunc: azuredevops.Factory}); err != nil {
		fmt.Fprintln(os.Stderr, "vault-plugin-secrets-azuredevops:", err)
		os.Exit(1)
	}
}
