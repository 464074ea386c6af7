package inject

// REST clients: --token-env hands the token itself to consumers that read it from a variable
// (AZURE_DEVOPS_EXT_PAT for `az devops`, SYSTEM_ACCESSTOKEN-style scripts); --authorization-env
// hands over the ready header value, "Basic base64(user:token)" ("Bearer TOKEN" for an Entra
// token), for a script that sends it as it is (`Invoke-RestMethod -Headers @{Authorization = $env:PATINJECT_AUTHORIZATION}`). Both are
// secret variables: in `inject` the platform emitter masks them and decides how later steps see
// them.

// TokenEnv is the --token-env tool.
var TokenEnv = Tool{
	Flag:     "token-env",
	Usage:    "the token exported as env var `NAME`",
	Summary:  "variable (the token)",
	Check:    checkVar("--token-env"),
	SetsVars: true,
	Plan: func(c Config) (Plan, error) {
		var p Plan
		for _, name := range c.values("token-env") {
			p.Env = append(p.Env, EnvVar{Name: name, Value: c.Token, Secret: true})
		}
		return p, nil
	},
}

// AuthorizationEnv is the --authorization-env tool.
var AuthorizationEnv = Tool{
	Flag:     "authorization-env",
	Usage:    "the ready Authorization header value, Basic base64(user:token) (Bearer TOKEN for an Entra token), exported as env var `NAME`",
	Summary:  "variable (the Authorization header)",
	Check:    checkVar("--authorization-env"),
	SetsVars: true,
	Plan: func(c Config) (Plan, error) {
		header, masks := c.authorization("Basic", "Bearer")
		p := Plan{Masks: masks}
		for _, name := range c.values("authorization-env") {
			p.Env = append(p.Env, EnvVar{Name: name, Value: header, Secret: true})
		}
		return p, nil
	},
}
