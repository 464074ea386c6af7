package inject

import "github.com/patinject/patinject/secret"

// REST clients: --token-env hands the token itself to consumers that read it from a variable
// (AZURE_DEVOPS_EXT_PAT for `az devops`, SYSTEM_ACCESSTOKEN-style scripts); --authorization-env
// hands over the ready header value, "Basic base64(user:token)", for a script that sends it as
// it is (`Invoke-RestMethod -Headers @{Authorization = $env:PATINJECT_AUTHORIZATION}`). Both are
// secret variables: in `inject` the platform emitter masks them and decides how later steps see
// them.
func restPlan(c Config) (Plan, error) {
	var p Plan
	for _, name := range c.TokenEnv {
		p.Env = append(p.Env, EnvVar{Name: name, Value: c.Token, Secret: true})
	}
	if len(c.AuthorizationEnv) > 0 {
		b64 := c.basicCredentials()
		header := secret.NewValue("Basic " + b64.Reveal())
		p.Masks = append(p.Masks, b64, header)
		for _, name := range c.AuthorizationEnv {
			p.Env = append(p.Env, EnvVar{Name: name, Value: header, Secret: true})
		}
	}
	return p, nil
}
