package adopat

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/patinject/patinject/msgsafe"
)

// ResourceID is the Microsoft Entra application id of Azure DevOps: the resource an access token
// for the PAT API must be issued for.
const ResourceID = "499b84ac-1321-427f-aa17-267ca6975798"

// azGetToken is the command that gets a user's access token for Azure DevOps.
const azGetToken = "az account get-access-token --resource " + ResourceID + " --query accessToken -o tsv"

// tokenErrors says, for every value of the spec's SessionTokenError enum, what the user or their
// administrator must change. "none" is not an error.
var tokenErrors = map[string]string{
	"none":                        "",
	"displayNameRequired":         "the PAT needs a display name: give name=... in the reference",
	"invalidDisplayName":          "Azure DevOps refused the display name: give a shorter one without special characters (name=...)",
	"invalidValidTo":              "Azure DevOps refused the expiry: give a positive ttl=... within the organisation's maximum PAT lifetime (at most one year)",
	"invalidScope":                "Azure DevOps refused a scope: name published PAT scopes only (patinject pats scopes lists them)",
	"userIdRequired":              "the access token names no user: PATs belong to people, so mint with a user's Entra token (az login as that person), not a service principal's",
	"invalidUserId":               "the user behind the access token is not known to Azure DevOps: sign in (az login) as a member of the organisation",
	"invalidUserType":             "this kind of identity cannot own PATs (service principals and managed identities cannot): mint with a member user's Entra token",
	"accessDenied":                "the user may not create PATs in this organisation: ask its administrator to allow it (Organization settings > Policies > Restrict personal access token creation, allowlist)",
	"failedToIssueAccessToken":    "Azure DevOps failed to issue the PAT: try again later; if it persists, check the Azure DevOps status page",
	"invalidClient":               "the access token was issued to an application that may not manage PATs: get a user's token with " + azGetToken,
	"invalidClientType":           "the access token's client type may not manage PATs (app-only tokens cannot): get a user's token with " + azGetToken,
	"invalidClientId":             "the access token's client id is not allowed to manage PATs: get a user's token with " + azGetToken,
	"invalidTargetAccounts":       "the user cannot reach this organisation through the token's tenant: check the organisation name and that the user is a member of it",
	"hostAuthorizationNotFound":   "the organisation has no authorization for this user: check the organisation name and that the user is a member of it",
	"authorizationNotFound":       "no PAT with this authorization id: it was already revoked, or belongs to another user (patinject pats list ORG shows the user's PATs)",
	"failedToUpdateAccessToken":   "Azure DevOps failed to update the PAT: try again later",
	"sourceNotSupported":          "the organisation's conditional access policy refuses requests from here: run from an allowed network, or ask the administrator to allow this source",
	"invalidSourceIP":             "the organisation's IP policy refuses this machine's address: run from an allowed network, or ask the administrator to allow it",
	"invalidSource":               "the organisation's policy refuses the source of this request: run from an allowed network or device, or ask the administrator to allow it",
	"duplicateHash":               "Azure DevOps generated a token that collides with an existing one: try again",
	"sshPolicyDisabled":           "the organisation's policy disables SSH authentication: an administrator must enable it (unexpected for a PAT: report it)",
	"invalidToken":                "Azure DevOps refused the token in the request: get a fresh Entra access token (" + azGetToken + ")",
	"tokenNotFound":               "no such PAT: it was already revoked or has expired",
	"invalidAuthorizationId":      "the authorization id is not valid: copy it from patinject pats list ORG",
	"failedToReadTenantPolicy":    "Azure DevOps could not read the tenant's PAT policies: try again later; if it persists, ask the Azure DevOps administrator to check the tenant policies",
	"globalPatPolicyViolation":    "the tenant's policy refuses PATs valid for all organisations: patinject asks for one organisation only, so ask the administrator about 'Restrict global personal access token creation'",
	"fullScopePatPolicyViolation": "the tenant's policy refuses full-access PATs: drop app_token and name the scopes the job needs (e.g. scope=vso.code), or ask the administrator for an exception to 'Restrict full-scoped personal access token creation'",
	"patLifespanPolicyViolation":  "the tenant's policy caps the lifetime of PATs: lower ttl= (e.g. ttl=1h), or ask the Azure DevOps administrator for the tenant's maximum ('Enforce maximum personal access token lifespan')",
	"invalidTokenType":            "the bearer token is not an Entra access token (a PAT cannot manage PATs): give one from " + azGetToken,
	"invalidAudience":             "the Entra access token is for another resource: get one for Azure DevOps with " + azGetToken,
	"invalidSubject":              "the Entra access token's subject is not a user (service principals and managed identities cannot mint PATs): use a person's token, or an Entra token directly instead of a PAT",
	"deploymentHostNotSupported":  "this Azure DevOps deployment does not offer the PAT lifecycle API (Azure DevOps Server does not): check --ado-url, or use a PAT stored in a vault",
}

// TokenErrorMessage says what to change for a patTokenError value; unknown values get a generic line.
func TokenErrorMessage(code string) string {
	if m, ok := tokenErrors[code]; ok {
		return m
	}
	return "Azure DevOps refused the request; the error is not one patinject knows, see the Azure DevOps PAT documentation"
}

// TokenError is a patTokenError other than none, returned in an HTTP 200.
type TokenError struct {
	Code string
}

func (e *TokenError) Error() string { return e.Code + ": " + TokenErrorMessage(e.Code) }

// HTTPError is an answer outside 2xx (and a 203, which Azure DevOps sends with a sign-in page
// instead of a 401).
type HTTPError struct {
	Status  int
	Message string // the server's message, one line, trimmed; never holds a token
}

func (e *HTTPError) Error() string {
	var hint string
	switch e.Status {
	case http.StatusUnauthorized, http.StatusNonAuthoritativeInfo:
		hint = "Azure DevOps refused the Entra access token: it has expired, is for another resource, or is not a user's (service principals and managed identities cannot mint PATs); get a fresh one with " + azGetToken
	case http.StatusForbidden:
		hint = "the user may not manage PATs here: check that they are a member of the organisation and that its PAT policies allow them"
	case http.StatusNotFound:
		hint = "no such organisation or PAT API at this address: check the organisation name and --ado-url"
	case http.StatusTooManyRequests:
		hint = "Azure DevOps is throttling this user: try again later"
	}
	msg := fmt.Sprintf("HTTP %d", e.Status)
	if hint != "" {
		msg += ": " + hint
	}
	if e.Message != "" {
		msg += " (server said: " + e.Message + ")"
	}
	return msg
}

// IsUnauthorized reports whether err is the server refusing the access token.
func IsUnauthorized(err error) bool {
	var he *HTTPError
	return errors.As(err, &he) && (he.Status == http.StatusUnauthorized || he.Status == http.StatusNonAuthoritativeInfo)
}

// serverMessage takes the message out of an error body (msgsafe.ServerMessage): a hostile or
// careless server may reflect the request, the access token included.
func serverMessage(body []byte) string { return msgsafe.ServerMessage(body, 200) }
