package adopat

import (
	"fmt"
	"sort"
	"strings"
)

// FullAccess is the scope string of a full-access PAT: every scope, every API. It is refused
// unless the user says so (--ado-allow-full-access).
const FullAccess = "app_token"

// scopeInfo is what Azure DevOps publishes about a scope: a short name and whether it is
// high-privilege (azure-devops-docs docs/integrate/includes/scopes.md, 07/16/2025).
type scopeInfo struct {
	name string
	high bool
}

// Scopes is the published list of PAT scopes. user_impersonation is listed there too, but it is an
// Entra OAuth scope that a PAT cannot carry; it is refused with its own message.
var Scopes = map[string]scopeInfo{
	"vso.advsec":                            {"AdvancedSecurity (read)", true},
	"vso.advsec_write":                      {"AdvancedSecurity (read and write)", true},
	"vso.advsec_manage":                     {"AdvancedSecurity (read, write, and manage)", true},
	"vso.agentpools":                        {"Agent Pools (read)", false},
	"vso.agentpools_manage":                 {"Agent Pools (read, manage)", true},
	"vso.environment_manage":                {"Environment (read, manage)", true},
	"vso.analytics":                         {"Analytics (read)", false},
	"vso.auditlog":                          {"Audit Log (read)", false},
	"vso.auditstreams_manage":               {"Audit Streams (read)", true},
	"vso.build":                             {"Build (read)", false},
	"vso.build_execute":                     {"Build (read and execute)", true},
	"vso.code":                              {"Code (read)", false},
	"vso.code_write":                        {"Code (read and write)", true},
	"vso.code_manage":                       {"Code (read, write, and manage)", true},
	"vso.code_full":                         {"Code (full)", true},
	"vso.code_status":                       {"Code (status)", false},
	"vso.connected_server":                  {"Connected Server", false},
	"vso.entitlements":                      {"Entitlements (Read)", false},
	"vso.memberentitlementmanagement":       {"MemberEntitlement Management (read)", false},
	"vso.memberentitlementmanagement_write": {"MemberEntitlement Management (write)", true},
	"vso.extension":                         {"Extensions (read)", false},
	"vso.extension_manage":                  {"Extensions (read and manage)", true},
	"vso.extension.data":                    {"Extension data (read)", false},
	"vso.extension.data_write":              {"Extension data (read and write)", false},
	"vso.githubconnections":                 {"GitHub Connections (read)", false},
	"vso.githubconnections_manage":          {"GitHub Connections (read and manage)", true},
	"vso.graph":                             {"Graph (read)", false},
	"vso.graph_manage":                      {"Graph (manage)", true},
	"vso.identity":                          {"Identity (read)", false},
	"vso.identity_manage":                   {"Identity (manage)", true},
	"vso.machinegroup_manage":               {"Deployment group (read, manage)", true},
	"vso.gallery":                           {"Marketplace", false},
	"vso.gallery_acquire":                   {"Marketplace (acquire)", false},
	"vso.gallery_publish":                   {"Marketplace (publish)", true},
	"vso.gallery_manage":                    {"Marketplace (manage)", true},
	"vso.notification":                      {"Notifications (read)", false},
	"vso.notification_write":                {"Notifications (write)", false},
	"vso.notification_manage":               {"Notifications (manage)", false},
	"vso.notification_diagnostics":          {"Notifications (diagnostics)", false},
	"vso.packaging":                         {"Packaging (read)", false},
	"vso.packaging_write":                   {"Packaging (read and write)", true},
	"vso.packaging_manage":                  {"Packaging (read, write, and manage)", true},
	"vso.pipelineresources_use":             {"Pipeline Resources (use)", true},
	"vso.pipelineresources_manage":          {"Pipeline Resources (use and manage)", true},
	"vso.project":                           {"Project and team (read)", false},
	"vso.project_write":                     {"Project and team (read and write)", false},
	"vso.project_manage":                    {"Project and team (read, write and manage)", true},
	"vso.release":                           {"Release (read)", false},
	"vso.release_execute":                   {"Release (read, write and execute)", true},
	"vso.release_manage":                    {"Release (read, write, execute and manage)", true},
	"vso.securefiles_read":                  {"Secure Files (read)", true},
	"vso.securefiles_write":                 {"Secure Files (read, create)", true},
	"vso.securefiles_manage":                {"Secure Files (read, create, and manage)", true},
	"vso.security_manage":                   {"Security (manage)", true},
	"vso.serviceendpoint":                   {"Service Endpoints (read)", false},
	"vso.serviceendpoint_query":             {"Service Endpoints (read and query)", false},
	"vso.serviceendpoint_manage":            {"Service Endpoints (read, query and manage)", true},
	"vso.hooks":                             {"Service hooks (read)", false},
	"vso.hooks_write":                       {"Service hooks (read and write)", false},
	"vso.hooks_interact":                    {"Service hooks (interact)", false},
	"vso.settings":                          {"Settings (read)", false},
	"vso.settings_write":                    {"Settings (read and write)", false},
	"vso.symbols":                           {"Symbols (read)", false},
	"vso.symbols_write":                     {"Symbols (read and write)", false},
	"vso.symbols_manage":                    {"Symbols (read, write and manage)", false},
	"vso.taskgroups_read":                   {"Task Groups (read)", false},
	"vso.taskgroups_write":                  {"Task Groups (read, create)", false},
	"vso.taskgroups_manage":                 {"Task Groups (read, create and manage)", true},
	"vso.dashboards":                        {"Team dashboards (read)", false},
	"vso.dashboards_manage":                 {"Team dashboards (manage)", false},
	"vso.test":                              {"Test management (read)", false},
	"vso.test_write":                        {"Test management (read and write)", false},
	"vso.threads_full":                      {"PR threads", false},
	"vso.tokens":                            {"Delegated Authorization Tokens", true},
	"vso.tokenadministration":               {"Token Administration", true},
	"vso.profile":                           {"User profile (read)", false},
	"vso.profile_write":                     {"User profile (write)", false},
	"vso.variablegroups_read":               {"Variable Groups (read)", false},
	"vso.variablegroups_write":              {"Variable Groups (read, create)", false},
	"vso.variablegroups_manage":             {"Variable Groups (read, create and manage)", true},
	"vso.wiki":                              {"Wiki (read)", false},
	"vso.wiki_write":                        {"Wiki (read and write)", false},
	"vso.work":                              {"Work items (read)", false},
	"vso.work_write":                        {"Work items (read and write)", false},
	"vso.work_full":                         {"Work items (full)", false},
}

// ParseScopes splits s (scope names separated by '+', ',' or white space; url.ParseQuery has
// already turned '+' into a space) and checks each against the published list. It returns the
// scopes in the order given, without duplicates. app_token is accepted only when allowFull is set,
// and only alone.
func ParseScopes(s string, allowFull bool) ([]string, error) {
	fields := strings.FieldsFunc(s, func(r rune) bool {
		return r == '+' || r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '\r'
	})
	if len(fields) == 0 {
		return nil, fmt.Errorf("no scope: name at least one, as in scope=vso.code (git fetch), scope=vso.packaging (package restore) or scope=vso.code_write+vso.packaging_write (push and publish)")
	}
	var out []string
	seen := map[string]bool{}
	for _, f := range fields {
		switch {
		case f == FullAccess:
			if !allowFull {
				return nil, fmt.Errorf("scope app_token is a full-access PAT (every API, every project): name the scopes the job needs instead (e.g. vso.code, vso.packaging), or, if it really needs everything, pass --ado-allow-full-access")
			}
		case f == "user_impersonation":
			return nil, fmt.Errorf("scope user_impersonation is an Entra OAuth permission, not a PAT scope: name PAT scopes such as vso.code or vso.packaging")
		case Scopes[f].name == "":
			if lf := strings.ToLower(f); Scopes[lf].name != "" || lf == FullAccess {
				return nil, fmt.Errorf("unknown scope %q: scope names are lower case, did you mean %s?", f, lf)
			}
			msg := fmt.Sprintf("unknown scope %q", f)
			if near := closestScope(f); near != "" {
				msg += fmt.Sprintf(": did you mean %s (%s)?", near, Scopes[near].name)
			}
			return nil, fmt.Errorf("%s (see patinject pats scopes for the list)", msg)
		}
		if !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	if seen[FullAccess] && len(out) > 1 {
		return nil, fmt.Errorf("scope app_token already grants everything: give it alone, or name the scopes without it")
	}
	return out, nil
}

// ScopeNames lists the published scopes, sorted.
func ScopeNames() []string {
	names := make([]string, 0, len(Scopes))
	for k := range Scopes {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// ScopeDescription is the published short name of a scope and whether it is high-privilege.
func ScopeDescription(scope string) (name string, high bool) {
	i := Scopes[scope]
	return i.name, i.high
}

// closestScope is the known scope nearest to s by edit distance, or "" when none is near enough
// to be a plausible typo.
func closestScope(s string) string {
	s = strings.ToLower(s)
	if !strings.HasPrefix(s, "vso.") && !strings.Contains(s, ".") {
		// "code_write" for "vso.code_write"
		if Scopes["vso."+s].name != "" {
			return "vso." + s
		}
	}
	best, bestD := "", 1<<30
	for _, name := range ScopeNames() {
		if d := editDistance(s, name); d < bestD {
			best, bestD = name, d
		}
	}
	if bestD > max(3, len(s)/3) {
		return ""
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
