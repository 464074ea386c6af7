package cmd

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/patinject/patinject/internal/testpeer"
	"github.com/patinject/patinject/internal/testpeer/gitserver"
)

// replay plays what inject printed and wrote the way the CI platform does between steps: the
// variables become the next step's environment, the secrets go to a masker. Secret variables of
// Azure Pipelines go to the masker and not to the environment, as the agent does.
type replay struct {
	env    map[string]string
	masker []string
	post   map[string]string // what the same task's post-job step gets (task variables)
}

// azureAgent replays logging commands as the agent does (Command.cs, TaskCommandExtension.cs):
// the first "##vso[" of a line, properties up to the first ']', %0D %0A %5D %3B then %AZP25
// decoded; setvariable sets NAME upper-cased with '.' and ' ' as '_'; issecret and setsecret
// register the value with the masker.
func azureAgent(t *testing.T, stdout string) *replay {
	t.Helper()
	r := &replay{env: map[string]string{}, post: map[string]string{}}
	unescape := func(s string) string {
		s = strings.NewReplacer("%0D", "\r", "%0A", "\n", "%5D", "]", "%3B", ";").Replace(s)
		return strings.ReplaceAll(s, "%AZP25", "%")
	}
	for _, line := range strings.Split(stdout, "\n") {
		i := strings.Index(line, "##vso[")
		if i < 0 {
			continue
		}
		rest := line[i+len("##vso["):]
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			t.Fatalf("unparsable command %q", line)
		}
		name, propText, _ := strings.Cut(rest[:end], " ")
		data := unescape(rest[end+1:])
		props := map[string]string{}
		for _, p := range strings.Split(propText, ";") {
			if k, v, ok := strings.Cut(p, "="); ok {
				props[strings.ToLower(strings.TrimSpace(k))] = unescape(v)
			}
		}
		switch name {
		case "task.setsecret":
			r.masker = append(r.masker, data)
		case "task.setvariable":
			if strings.EqualFold(props["isoutput"], "true") {
				continue // step.NAME, not an environment variable of its own
			}
			key := strings.ToUpper(strings.NewReplacer(".", "_", " ", "_").Replace(props["variable"]))
			if strings.EqualFold(props["issecret"], "true") {
				if strings.ContainsAny(data, "\r\n") {
					t.Fatalf("the agent refuses a multi-line secret variable %s", key)
				}
				r.masker = append(r.masker, data)
				continue
			}
			r.env[key] = data
		case "task.uploadsummary":
			// attached to the run, not part of the next step
		case "task.settaskvariable":
			// kept for this task's later steps (its post-job) only, as VSTS_TASKVARIABLE_NAME
			key := strings.ToUpper(strings.NewReplacer(".", "_", " ", "_").Replace(props["variable"]))
			if strings.EqualFold(props["issecret"], "true") {
				r.masker = append(r.masker, data)
			}
			r.post["VSTS_TASKVARIABLE_"+key] = data
		default:
			t.Fatalf("the agent would not know %q", name)
		}
	}
	return r
}

// githubRunner replays ::add-mask:: lines and the GITHUB_ENV file.
func githubRunner(t *testing.T, stdout, envFile string) *replay {
	t.Helper()
	r := &replay{env: parseEnvFile(t, readText(t, envFile))}
	unescape := strings.NewReplacer("%0D", "\r", "%0A", "\n", "%25", "%").Replace
	for _, line := range strings.Split(stdout, "\n") {
		if data, ok := strings.CutPrefix(strings.TrimSpace(line), "::add-mask::"); ok {
			r.masker = append(r.masker, unescape(data))
		}
	}
	return r
}

// mask replaces what the platform's masker would: every registered value and the encodings the
// agent adds by itself (JSON string, URI data); no base64, which the agent does not add.
func (r *replay) mask(log string) string {
	var pats []string
	for _, v := range r.masker {
		if v == "" {
			continue
		}
		j, _ := json.Marshal(v)
		pats = append(pats, v, strings.Trim(string(j), `"`), url.QueryEscape(v), strings.ReplaceAll(url.QueryEscape(v), "+", "%20"))
	}
	// Longest first, so that a value inside a longer form does not break the longer one.
	for changed := true; changed; {
		changed = false
		for i := 1; i < len(pats); i++ {
			if len(pats[i]) > len(pats[i-1]) {
				pats[i], pats[i-1] = pats[i-1], pats[i]
				changed = true
			}
		}
	}
	for _, p := range pats {
		log = strings.ReplaceAll(log, p, "***")
	}
	return log
}

// TestReplayThenGitClone: inject, then the next step as the platform would start it: only the
// replayed environment, real git against the test git server. The clone authenticates, and the
// masker covers every form of the token that shows up in a verbose log of it.
func TestReplayThenGitClone(t *testing.T) {
	git := testpeer.Command(t, "git")
	srv := gitserver.Start(t, "patinject", testPAT)

	for _, platform := range []string{"azure", "github"} {
		t.Run(platform, func(t *testing.T) {
			var env fakeEnv
			var temp string
			if platform == "azure" {
				temp = t.TempDir()
				env = fakeEnv{"TF_BUILD": "True", "AGENT_TEMPDIRECTORY": temp, "HOME": t.TempDir(), "CI_PAT": testPAT}
			} else {
				env, temp = githubEnv(t)
			}
			stdout, stderr, code := runInProcess(t, env, "inject", "--token", "env:CI_PAT", "--git", srv.URL, "--secret", "ADO_PAT=env:CI_PAT")
			if code != 0 {
				t.Fatalf("inject: exit %d\n%s", code, stderr)
			}
			var r *replay
			if platform == "azure" {
				r = azureAgent(t, stdout)
				if _, ok := r.env["ADO_PAT"]; ok {
					t.Errorf("a secret variable reached the next step's environment")
				}
			} else {
				r = githubRunner(t, stdout, env["GITHUB_ENV"])
			}

			home := t.TempDir()
			step := func(args ...string) (string, error) {
				c := exec.Command(git, args...)
				c.Dir = t.TempDir()
				c.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "GIT_TERMINAL_PROMPT=0", "GIT_CONFIG_NOSYSTEM=1",
					"GIT_TRACE_CURL=1", "GIT_TRACE_REDACT=0"}
				for k, v := range r.env {
					c.Env = append(c.Env, k+"="+v)
				}
				out, err := c.CombinedOutput()
				return string(out), err
			}
			log, err := step("clone", srv.Repo, "work")
			if err != nil {
				t.Fatalf("git clone with the replayed environment: %v\n%s", err, r.mask(log))
			}
			cfg, err := step("config", "--list", "--show-origin")
			if err != nil {
				t.Fatal(err)
			}
			log += cfg
			ok := false
			for _, req := range srv.Log.Authorized() {
				ok = ok || req.OK
			}
			if !ok {
				t.Fatalf("the server saw no authorized request")
			}

			// The verbose log shows the header and the config shows its value: every form of the
			// token in it must be covered by the masker.
			forms := []string{testPAT, b64std("patinject:" + testPAT), b64std(":" + testPAT), b64std(testPAT)}
			seen := 0
			for _, f := range forms {
				if strings.Contains(log, f) {
					seen++
				}
			}
			if seen == 0 {
				t.Fatalf("the captured log shows no form of the token; it proves nothing:\n%s", r.mask(log))
			}
			masked := r.mask(log)
			for _, f := range forms {
				if strings.Contains(masked, f) {
					t.Errorf("the masker leaves %q in the log", f)
				}
			}
			if dec := decodeBasic(masked); strings.Contains(dec, testPAT) {
				t.Errorf("a Basic credential in the masked log still decodes to the token")
			}

			// After cleanup the same environment no longer authenticates.
			post := fakeEnv{"HOME": env["HOME"]}
			if platform == "azure" {
				post["TF_BUILD"], post["AGENT_TEMPDIRECTORY"] = "True", temp
				for k, v := range r.post {
					post[k] = v
				}
			} else {
				post["GITHUB_ACTIONS"], post["RUNNER_TEMP"] = "true", temp
				for k, v := range parseEnvFile(t, readText(t, env["GITHUB_STATE"])) {
					post["STATE_"+k] = v
				}
			}
			if _, stderr, code := runInProcess(t, post, "cleanup"); code != 0 {
				t.Fatalf("cleanup: %s", stderr)
			}
			if out, err := step("clone", srv.Repo, "again"); err == nil {
				t.Errorf("git clone still authenticates after cleanup:\n%s", r.mask(out))
			}
			if entries, _ := os.ReadDir(temp); len(entries) != 0 {
				t.Errorf("left behind: %v", entries)
			}
		})
	}
}

// decodeBasic decodes every "Basic X" in s, to catch a credential the masker missed.
func decodeBasic(s string) string {
	var out strings.Builder
	for _, f := range strings.Fields(s) {
		if b, err := base64.StdEncoding.DecodeString(f); err == nil {
			out.Write(b)
			out.WriteByte('\n')
		}
	}
	return out.String()
}
