// Package envpolicy decides which environment variable names patinject may set, and which values
// are too weak to redact quietly.
//
// A variable that patinject sets lives on in every later program of the job (inject) or in the
// command it runs (run). Some names are not data but control: they change how a program starts
// (the dynamic loader, a shell's startup file, an interpreter's startup options), where it looks
// for its configuration or its code, where its network traffic goes, or how the CI runner itself
// behaves (its command files, its OIDC endpoint, its task variables). A secret under such a name
// hands whoever chose the value, or whoever can shape it, the later steps of the job: a
// --secret LD_PRELOAD=vault://... from a store a colleague can write is code execution in
// every later step. Those names are refused unless the user allows them one by one
// (--allow-name NAME).
//
// The list, by class (names compare case-insensitively, since Windows and npm do; "*" is a prefix):
//
//   - Loader and libc: LD_*, DYLD_*, GCONV_PATH, GLIBC_TUNABLES, HOSTALIASES, RESOLV_HOST_CONF,
//     NLSPATH, LOCPATH.
//   - Shells: PATH, PATHEXT, COMSPEC, BASH_ENV, ENV, BASH_FUNC_*, SHELLOPTS, BASHOPTS, PS4,
//     PROMPT_COMMAND, IFS, CDPATH, ZDOTDIR, SHELL, HOME, XDG_CONFIG_HOME, XDG_CONFIG_DIRS,
//     PSMODULEPATH.
//   - Programs that tools start: EDITOR, VISUAL, PAGER, BROWSER, SSH_ASKPASS, SUDO_ASKPASS.
//   - Interpreters and runtimes: PYTHON* (PYTHONSTARTUP, PYTHONPATH, PYTHONWARNINGS, ...),
//     PERL5OPT, PERL5LIB, PERLLIB, PERL5DB, RUBYOPT, RUBYLIB, NODE_* (NODE_OPTIONS, NODE_PATH,
//     NODE_TLS_REJECT_UNAUTHORIZED, ...), NPM_CONFIG_*, JAVA_TOOL_OPTIONS, _JAVA_OPTIONS,
//     JDK_JAVA_OPTIONS, JAVA_HOME, CLASSPATH, MAVEN_OPTS, GRADLE_OPTS, DOTNET_*, COREHOST_*,
//     CORECLR_*, COMPLUS_*, GOFLAGS, GOTOOLCHAIN, GOROOT, GOENV, GOPROXY, GOSUMDB, GONOSUMDB,
//     GONOSUMCHECK, GOINSECURE, GOPRIVATE.
//   - Trust and traffic: SSL_CERT_FILE, SSL_CERT_DIR, CURL_CA_BUNDLE, REQUESTS_CA_BUNDLE,
//     HTTP_PROXY, HTTPS_PROXY, ALL_PROXY, NO_PROXY, DOCKER_HOST, DOCKER_CONFIG, KUBECONFIG,
//     AWS_CONFIG_FILE.
//   - git: GIT_* (GIT_CONFIG_*, GIT_SSH_COMMAND, GIT_ASKPASS, GIT_EXEC_PATH, ...).
//   - GitHub Actions: GITHUB_* (but GITHUB_TOKEN, a credential tools read, not a control),
//     RUNNER_*, ACTIONS_*, STATE_*, INPUT_*.
//   - Azure Pipelines: SYSTEM_*, AGENT_*, BUILD_*, RELEASE_*, PIPELINE_*, ENDPOINT_*, VSTS_*,
//     TF_BUILD.
//   - Where credentials go, which patinject and the tools it configures read: AZURE_AUTHORITY_HOST,
//     AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_FEDERATED_TOKEN_FILE, IDENTITY_ENDPOINT,
//     IDENTITY_HEADER, MSI_ENDPOINT, MSI_SECRET, IMDS_ENDPOINT, VAULT_ADDR, VAULT_AGENT_ADDR,
//     VAULT_CACERT, VAULT_CAPATH, VAULT_SKIP_VERIFY, VAULT_NAMESPACE, VAULT_CLIENT_CERT,
//     VAULT_CLIENT_KEY, VAULT_TLS_SERVER_NAME (not the AZURE_ prefix: AZURE_DEVOPS_EXT_PAT is a
//     credential the Azure CLI reads).
//   - What the tools run or read as configuration, some of which patinject sets itself:
//     NUGET_PLUGIN_PATHS, NUGET_NETFX_PLUGIN_PATHS, NUGET_NETCORE_PLUGIN_PATHS,
//     NUGET_CREDENTIALPROVIDERS_PATH, NUGET_PLUGINS_CACHE_PATH, MAVEN_ARGS, NETRC, CURL_HOME,
//     NPM_CONFIG_USERCONFIG, NPM_CONFIG_GLOBALCONFIG.
//   - patinject itself: the PATINJECT_* variables its flags read (PATINJECT_ADO_URL, PATINJECT_GIT,
//     ...), passed by the caller as Policy.Reserved.
package envpolicy

import (
	"fmt"
	"sort"
	"strings"
)

// prefixes are refused as prefixes of a name, exact names as themselves (both upper case).
var (
	prefixes = []string{
		"LD_", "DYLD_", "BASH_FUNC_", "PYTHON", "NODE_", "NPM_CONFIG_", "DOTNET_", "COREHOST_",
		"CORECLR_", "COMPLUS_", "GIT_", "GITHUB_", "RUNNER_", "ACTIONS_", "STATE_", "INPUT_",
		"SYSTEM_", "AGENT_", "BUILD_", "RELEASE_", "PIPELINE_", "ENDPOINT_", "VSTS_",
	}
	exact = map[string]bool{}
	// allowedByDefault are names under a refused prefix that are data, not control.
	allowedByDefault = map[string]bool{"GITHUB_TOKEN": true}
)

func init() {
	for _, n := range strings.Fields(`
		GCONV_PATH GLIBC_TUNABLES HOSTALIASES RESOLV_HOST_CONF NLSPATH LOCPATH
		PATH PATHEXT COMSPEC BASH_ENV ENV SHELLOPTS BASHOPTS PS4 PROMPT_COMMAND IFS CDPATH ZDOTDIR
		SHELL HOME XDG_CONFIG_HOME XDG_CONFIG_DIRS PSMODULEPATH
		EDITOR VISUAL PAGER BROWSER SSH_ASKPASS SUDO_ASKPASS
		PERL5OPT PERL5LIB PERLLIB PERL5DB RUBYOPT RUBYLIB
		JAVA_TOOL_OPTIONS _JAVA_OPTIONS JDK_JAVA_OPTIONS JAVA_HOME CLASSPATH MAVEN_OPTS GRADLE_OPTS
		GOFLAGS GOTOOLCHAIN GOROOT GOENV GOPROXY GOSUMDB GONOSUMDB GONOSUMCHECK GOINSECURE GOPRIVATE
		SSL_CERT_FILE SSL_CERT_DIR CURL_CA_BUNDLE REQUESTS_CA_BUNDLE
		HTTP_PROXY HTTPS_PROXY ALL_PROXY NO_PROXY DOCKER_HOST DOCKER_CONFIG KUBECONFIG AWS_CONFIG_FILE
		TF_BUILD
		AZURE_AUTHORITY_HOST AZURE_TENANT_ID AZURE_CLIENT_ID AZURE_FEDERATED_TOKEN_FILE
		IDENTITY_ENDPOINT IDENTITY_HEADER MSI_ENDPOINT MSI_SECRET IMDS_ENDPOINT
		VAULT_ADDR VAULT_AGENT_ADDR VAULT_CACERT VAULT_CAPATH VAULT_SKIP_VERIFY VAULT_NAMESPACE
		VAULT_CLIENT_CERT VAULT_CLIENT_KEY VAULT_TLS_SERVER_NAME
		NUGET_PLUGIN_PATHS NUGET_NETFX_PLUGIN_PATHS NUGET_NETCORE_PLUGIN_PATHS
		NUGET_CREDENTIALPROVIDERS_PATH NUGET_PLUGINS_CACHE_PATH
		MAVEN_ARGS NETRC CURL_HOME NPM_CONFIG_USERCONFIG NPM_CONFIG_GLOBALCONFIG`) {
		exact[n] = true
	}
}

// Controls reports whether name is one that changes how later programs start or how the CI
// runner behaves, and why (the class), for the error.
func Controls(name string) (bool, string) {
	up := strings.ToUpper(name)
	if allowedByDefault[up] {
		return false, ""
	}
	if exact[up] {
		return true, up
	}
	for _, p := range prefixes {
		if strings.HasPrefix(up, p) {
			return true, p + "*"
		}
	}
	return false, ""
}

// Policy checks names against the list, letting through those the user allowed by name.
type Policy struct {
	Allow    []string // --allow-name
	Reserved []string // further names refused, such as the variables patinject's own flags read
}

// Check returns an error naming the flag and the name when name is refused. flag is how the
// name was given ("--secret", "--token-env", "--env-file ci.env").
func (p Policy) Check(flag, name string) error {
	bad, class := Controls(name)
	for _, r := range p.Reserved {
		if strings.EqualFold(r, name) {
			bad, class = true, "read by patinject's own flags"
		}
	}
	if !bad {
		return nil
	}
	for _, a := range p.Allow {
		if a == name {
			return nil
		}
	}
	why := "it changes how later programs start, or how the CI runner behaves"
	if class != strings.ToUpper(name) && class != "" {
		why += " (" + class + ")"
	}
	return fmt.Errorf("%s %s: refused: %s, so a value under it takes over what runs after; choose another name, or allow this one on purpose with --allow-name %s",
		flag, name, why, name)
}

// CheckAll checks each name given to flag.
func (p Policy) CheckAll(flag string, names []string) error {
	for _, n := range names {
		if err := p.Check(flag, n); err != nil {
			return err
		}
	}
	return nil
}

// WeakLen is the length below which a secret's value gets a warning: every occurrence of so few
// bytes, inside any word, is redacted.
const WeakLen = 8

// ValueWarning returns a warning for a secret value that redaction will make a mess of, or "".
// name is the variable the value goes to.
func ValueWarning(name, value string) string {
	hint := "; if it is not a secret, say so with --not-secret " + name
	if strings.HasPrefix(name, "-") {
		hint = "" // the --token is always a secret
	}
	if isCommonWord(value) {
		return fmt.Sprintf("%s: the value is a common word; every occurrence of it in the output, in any text, will be replaced by *** (and masked by the CI platform), which can hide unrelated lines of the log%s",
			name, hint)
	}
	if n := len(value); n < WeakLen {
		return fmt.Sprintf("%s: the value is %d bytes; every occurrence of those %d bytes in the output, even inside other words or numbers, will be replaced by *** (and masked by the CI platform), which can make the log hard to read%s",
			name, n, n, hint)
	}
	return ""
}

// commonWords are words that a log is full of, or that are the usual placeholder values.
var commonWords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`
		password passw0rd secret changeme default admin administrator root user username guest test
		testing example sample demo token apikey api_key key value true false yes no none null nil
		undefined empty unknown enabled disabled on off debug release main master develop dev prod
		production staging stage local localhost latest stable build deploy error warning info
		success failed failure ok done the and for with from this that http https`) {
		m[w] = true
	}
	return m
}()

func isCommonWord(v string) bool {
	return commonWords[strings.ToLower(strings.TrimSpace(v))]
}

// Names lists the refused exact names and prefixes, sorted, for documentation and tests.
func Names() []string {
	var out []string
	for n := range exact {
		out = append(out, n)
	}
	for _, p := range prefixes {
		out = append(out, p+"*")
	}
	sort.Strings(out)
	return out
}
