package envpolicy

import (
	"strings"
	"testing"
)

func TestControls(t *testing.T) {
	t.Parallel()
	refused := []string{
		"LD_PRELOAD", "ld_preload", "LD_LIBRARY_PATH", "DYLD_INSERT_LIBRARIES", "BASH_ENV", "ENV", "PATH",
		"GIT_CONFIG_GLOBAL", "GIT_CONFIG_COUNT", "GIT_SSH_COMMAND", "GITHUB_ENV", "GITHUB_PATH",
		"RUNNER_TEMP", "ACTIONS_ID_TOKEN_REQUEST_URL", "SYSTEM_ACCESSTOKEN", "AGENT_TEMPDIRECTORY",
		"BUILD_SOURCESDIRECTORY", "TF_BUILD", "PYTHONSTARTUP", "PYTHONPATH", "PERL5OPT", "PERL5LIB",
		"RUBYOPT", "JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS", "NODE_OPTIONS", "PROMPT_COMMAND", "IFS",
		"VSTS_TASKVARIABLE_PATINJECT_STATE_KEY", "STATE_statekey", "https_proxy",
		"DOTNET_STARTUP_HOOKS", "KUBECONFIG", "HOME",
	}
	for _, n := range refused {
		if bad, _ := Controls(n); !bad {
			t.Errorf("%s: accepted, want refused", n)
		}
	}
	for _, n := range []string{"ADO_PAT", "GITHUB_TOKEN", "NPM_TOKEN", "AZURE_DEVOPS_EXT_PAT", "DB_PASSWORD", "SECRET_KEY", "PATH_TO_KEY", "ENVIRONMENT"} {
		if bad, class := Controls(n); bad {
			t.Errorf("%s: refused (%s), want accepted", n, class)
		}
	}
}

func TestPolicyCheck(t *testing.T) {
	t.Parallel()
	err := Policy{}.Check("--secret", "LD_PRELOAD")
	if err == nil || !strings.Contains(err.Error(), "--secret LD_PRELOAD: refused") || !strings.Contains(err.Error(), "--allow-name LD_PRELOAD") {
		t.Fatalf("got %v", err)
	}
	if err := (Policy{Allow: []string{"LD_PRELOAD"}}).Check("--secret", "LD_PRELOAD"); err != nil {
		t.Errorf("allowed by name: got %v", err)
	}
	if err := (Policy{Reserved: []string{"PATINJECT_ADO_URL"}}).Check("--secret", "patinject_ado_url"); err == nil || !strings.Contains(err.Error(), "patinject's own flags") {
		t.Errorf("reserved: got %v", err)
	}
	if err := (Policy{Allow: []string{"LD_*"}}).Check("--secret", "LD_PRELOAD"); err == nil {
		t.Errorf("an allow is a name, not a pattern: got nil")
	}
}

func TestValueWarning(t *testing.T) {
	t.Parallel()
	for v, want := range map[string]string{
		"abc123":               "the value is 6 bytes",
		"Password":             "common word",
		"true":                 "common word",
		"Zq8-vT3k":             "",
		"pat-0123456789abcdef": "",
		"seven77":              "the value is 7 bytes",
	} {
		got := ValueWarning("X", v)
		if want == "" && got != "" || want != "" && !strings.Contains(got, want) {
			t.Errorf("%q: got %q, want %q", v, got, want)
		}
		if got != "" && strings.Contains(got, v) {
			t.Errorf("%q: the warning repeats the value: %q", v, got)
		}
	}
}

// The names that say where patinject or the tools it configures send a credential, or what they
// run, are refused; a credential the Azure CLI reads under the same AZURE_ prefix is not.
func TestWhereCredentialsGo(t *testing.T) {
	for _, n := range []string{"AZURE_AUTHORITY_HOST", "azure_client_id", "IDENTITY_ENDPOINT", "VAULT_ADDR", "VAULT_SKIP_VERIFY",
		"NUGET_NETFX_PLUGIN_PATHS", "NUGET_PLUGIN_PATHS", "MAVEN_ARGS", "NETRC", "NPM_CONFIG_USERCONFIG"} {
		if ok, _ := Controls(n); !ok {
			t.Errorf("%s is not refused", n)
		}
	}
	if ok, why := Controls("AZURE_DEVOPS_EXT_PAT"); ok {
		t.Errorf("AZURE_DEVOPS_EXT_PAT refused (%s)", why)
	}
}
