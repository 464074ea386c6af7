package cmd

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
	"gopkg.in/yaml.v3"

	"github.com/patinject/patinject/frontdoor"
	"github.com/patinject/patinject/internal/testpeer"
)

// The GitHub Action (action.yml, action/*.js) and the Azure Pipelines task (tasks/patinject):
// valid against the platforms' own schemas, an input for every flag of inject, and JavaScript
// that passes inputs as flags and nothing of the agent's secrets.

const (
	actionYAML = "../action.yml"
	taskJSON   = "../tasks/patinject/task.json"
	specsDir   = "../../shared/specs"
)

func specPath(t *testing.T, name string) string {
	t.Helper()
	p := filepath.Join(specsDir, name)
	if _, err := os.Stat(p); err != nil {
		testpeer.Missing(t, p+" not found (the shared specs lie beside the repository)")
	}
	return p
}

// --- GitHub's action.yml schema: the runner's template schema (mapping, sequence, string,
// boolean, one-of, loose keys and values), not a JSON schema. checkTemplate follows
// actions/runner TemplateReader far enough to validate an action.yml.

type templateSchema struct {
	Definitions map[string]templateDef `json:"definitions"`
}

type templateDef struct {
	Mapping *struct {
		Properties     map[string]json.RawMessage `json:"properties"`
		LooseKeyType   string                     `json:"loose-key-type"`
		LooseValueType string                     `json:"loose-value-type"`
	} `json:"mapping"`
	Sequence *struct {
		ItemType string `json:"item-type"`
	} `json:"sequence"`
	String *struct {
		RequireNonEmpty bool `json:"require-non-empty"`
	} `json:"string"`
	Boolean *struct{} `json:"boolean"`
	OneOf   []string  `json:"one-of"`
	Context []string  `json:"context"`
}

func loadTemplateSchema(t *testing.T) templateSchema {
	t.Helper()
	b, err := os.ReadFile(specPath(t, "github-action-yaml.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	b = []byte(strings.TrimPrefix(string(b), "\ufeff"))
	var s templateSchema
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

func (s templateSchema) check(n *yaml.Node, typ, at string) error {
	switch typ {
	case "any":
		return nil
	case "string":
		if n.Kind != yaml.ScalarNode {
			return fmt.Errorf("%s: want a string", at)
		}
		return nil
	case "boolean":
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
			return fmt.Errorf("%s: want a boolean", at)
		}
		return nil
	case "mapping":
		if n.Kind != yaml.MappingNode {
			return fmt.Errorf("%s: want a mapping", at)
		}
		return nil
	case "sequence":
		if n.Kind != yaml.SequenceNode {
			return fmt.Errorf("%s: want a sequence", at)
		}
		return nil
	}
	def, ok := s.Definitions[typ]
	if !ok {
		return fmt.Errorf("%s: schema has no definition %q", at, typ)
	}
	if strings.Contains(n.Value, "${{") && len(def.Context) == 0 {
		return fmt.Errorf("%s: an expression where %s allows none", at, typ)
	}
	switch {
	case len(def.OneOf) > 0:
		var errs []string
		matched := 0
		for _, alt := range def.OneOf {
			if err := s.check(n, alt, at); err != nil {
				errs = append(errs, err.Error())
			} else {
				matched++
			}
		}
		if matched == 0 {
			return fmt.Errorf("%s: matches none of %v: %s", at, def.OneOf, strings.Join(errs, "; "))
		}
		return nil
	case def.Mapping != nil:
		if n.Kind != yaml.MappingNode {
			return fmt.Errorf("%s: want a mapping (%s)", at, typ)
		}
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			seen[k.Value] = true
			if raw, ok := def.Mapping.Properties[k.Value]; ok {
				ptype := ""
				if err := json.Unmarshal(raw, &ptype); err != nil {
					var p struct{ Type string }
					if err := json.Unmarshal(raw, &p); err != nil {
						return err
					}
					ptype = p.Type
				}
				if err := s.check(v, ptype, at+"."+k.Value); err != nil {
					return err
				}
				continue
			}
			if def.Mapping.LooseValueType == "" {
				return fmt.Errorf("%s: unexpected key %q (%s)", at, k.Value, typ)
			}
			if err := s.check(k, def.Mapping.LooseKeyType, at+" key"); err != nil {
				return err
			}
			if err := s.check(v, def.Mapping.LooseValueType, at+"."+k.Value); err != nil {
				return err
			}
		}
		for name, raw := range def.Mapping.Properties {
			var p struct{ Required bool }
			if json.Unmarshal(raw, &p) == nil && p.Required && !seen[name] {
				return fmt.Errorf("%s: %q is required", at, name)
			}
		}
		return nil
	case def.Sequence != nil:
		if n.Kind != yaml.SequenceNode {
			return fmt.Errorf("%s: want a sequence", at)
		}
		for i, item := range n.Content {
			if err := s.check(item, def.Sequence.ItemType, fmt.Sprintf("%s[%d]", at, i)); err != nil {
				return err
			}
		}
		return nil
	case def.String != nil:
		if n.Kind != yaml.ScalarNode {
			return fmt.Errorf("%s: want a string", at)
		}
		if def.String.RequireNonEmpty && n.Value == "" {
			return fmt.Errorf("%s: want a non-empty string", at)
		}
		return nil
	case def.Boolean != nil:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
			return fmt.Errorf("%s: want a boolean", at)
		}
		return nil
	}
	return fmt.Errorf("%s: definition %s has no type this checker knows", at, typ)
}

func loadYAML(t *testing.T, path string) *yaml.Node {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return doc.Content[0]
}

func TestTemplateSchemaCheckerRejects(t *testing.T) {
	s := loadTemplateSchema(t)
	tests := map[string]string{
		"composite with main":  "name: x\nruns:\n  using: composite\n  main: a.js\n  steps: []\n",
		"unknown runs key":     "name: x\nruns:\n  using: node20\n  main: a.js\n  cleanup: b.js\n",
		"empty main":           "name: x\nruns:\n  using: node20\n  main: ''\n",
		"output without value": "name: x\noutputs:\n  a:\n    description: d\n    extra: 1\nruns:\n  using: node20\n  main: a.js\n",
		"run step no shell":    "name: x\nruns:\n  using: composite\n  steps:\n    - run: echo\n",
	}
	for name, doc := range tests {
		var n yaml.Node
		if err := yaml.Unmarshal([]byte(doc), &n); err != nil {
			t.Fatal(err)
		}
		if err := s.check(n.Content[0], "action-root", "action"); err == nil {
			t.Errorf("%s: the checker accepted\n%s", name, doc)
		}
	}
}

func TestActionYAML(t *testing.T) {
	s := loadTemplateSchema(t)
	root := loadYAML(t, actionYAML)
	if err := s.check(root, "action-root", "action.yml"); err != nil {
		t.Fatalf("action.yml is not valid against the runner's schema: %v", err)
	}
	var a struct {
		Inputs map[string]struct {
			Description string
			Default     *string
		}
		Outputs map[string]struct{ Description string }
		Runs    struct{ Using, Main, Post, PostIf string }
	}
	if err := root.Decode(&a); err != nil {
		t.Fatal(err)
	}
	// A node action, since only node and docker actions have a post step.
	if a.Runs.Using != "node24" {
		t.Errorf("runs.using %q: want node24 (GitHub removed node20 from its runners)", a.Runs.Using)
	}
	for _, f := range []string{a.Runs.Main, a.Runs.Post} {
		if f == "" {
			t.Errorf("runs needs main and post")
			continue
		}
		if _, err := os.Stat(filepath.Join("..", f)); err != nil {
			t.Errorf("runs: %v", err)
		}
	}
	for name, in := range a.Inputs {
		if in.Description == "" {
			t.Errorf("input %s has no description", name)
		}
	}
	for _, o := range []string{"expiry", "authorization-id", "state"} {
		if _, ok := a.Outputs[o]; !ok {
			t.Errorf("no output %s", o)
		}
	}

	// Every flag of inject has an input, named as the contract says, and the JavaScript maps
	// each input to that flag.
	want := injectInputs(t, "github")
	var have []string
	for n := range a.Inputs {
		have = append(have, n)
	}
	sameSet(t, "action.yml inputs", have, want)
	sameSet(t, "action/lib.js inputs", jsInputNames(t, "../action/lib.js"), want)
}

// injectInputs are the inputs that the flags of inject call for on a platform: the flag's name
// (kebab-case for GitHub, camelCase for Azure), "secrets" for --secret, less the flags that the
// wrapper sets itself or that make no sense there.
func injectInputs(t *testing.T, platform string) []string {
	t.Helper()
	skip := map[string]bool{"platform": true, "dotenv": true, "help": true}
	if platform == "github" {
		skip["vault-azure-service-connection"] = true
	}
	var cmd *cli.Command
	for _, c := range (&app{p: &frontdoor.Process{}}).cli().Commands {
		if c.Name == "inject" {
			cmd = c
		}
	}
	if cmd == nil {
		t.Fatal("no inject command")
	}
	var out []string
	for _, f := range cmd.Flags {
		name := f.Names()[0]
		if skip[name] {
			continue
		}
		if name == "secret" {
			name = "secrets"
		}
		if platform == "azure" {
			name = camel(name)
		}
		out = append(out, name)
	}
	if platform == "azure" {
		out = append(out, "systemAccessToken")
	}
	if platform == "github" {
		out = append(out, "version") // which release to download: the wrapper's own
	}
	return out
}

func sameSet(t *testing.T, what string, got, want []string) {
	t.Helper()
	g, w := map[string]bool{}, map[string]bool{}
	for _, x := range got {
		g[x] = true
	}
	for _, x := range want {
		w[x] = true
	}
	var missing, extra []string
	for x := range w {
		if !g[x] {
			missing = append(missing, x)
		}
	}
	for x := range g {
		if !w[x] {
			extra = append(extra, x)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 {
		t.Errorf("%s: missing %v (each flag of inject needs an input)", what, missing)
	}
	if len(extra) > 0 {
		t.Errorf("%s: %v match no flag of inject", what, extra)
	}
}

// jsInputNames lists the input names in a JavaScript table of ['input', 'flag', 'kind'] rows,
// checking that each maps to the flag of its name.
func jsInputNames(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range regexp.MustCompile(`\['([A-Za-z-]+)', '([a-z-]+)', '(scalar|list|bool)'\]`).FindAllStringSubmatch(string(b), -1) {
		in, flag := m[1], m[2]
		wantFlag := in
		if in == "secrets" {
			wantFlag = "secret"
		}
		if camel(flag) != camel(wantFlag) && camel(flag) != wantFlag {
			t.Errorf("%s: input %s goes to --%s", path, in, flag)
		}
		names = append(names, in)
	}
	if strings.Contains(path, "tasks") {
		names = append(names, "systemAccessToken") // read by cleanEnv, not a flag
	}
	if strings.Contains(path, "action") {
		names = append(names, "version") // read by findOrInstall, not a flag
	}
	return names
}

// --- Azure Pipelines' task.json schema: JSON schema draft-04. checkJSONSchema implements the
// keywords that schema uses.

func checkJSONSchema(root, s map[string]any, v any, at string) error {
	if ref, ok := s["$ref"].(string); ok {
		name, ok := strings.CutPrefix(ref, "#/definitions/")
		if !ok {
			return fmt.Errorf("%s: unsupported $ref %s", at, ref)
		}
		return checkJSONSchema(root, root["definitions"].(map[string]any)[name].(map[string]any), v, at)
	}
	if typ, ok := s["type"]; ok {
		var types []string
		switch tt := typ.(type) {
		case string:
			types = []string{tt}
		case []any:
			for _, x := range tt {
				types = append(types, x.(string))
			}
		}
		okType := false
		for _, tt := range types {
			switch tt {
			case "string":
				_, okType = v.(string)
			case "number":
				_, okType = v.(float64)
			case "integer":
				f, isNum := v.(float64)
				okType = isNum && f == float64(int64(f))
			case "boolean":
				_, okType = v.(bool)
			case "object":
				_, okType = v.(map[string]any)
			case "array":
				_, okType = v.([]any)
			}
			if okType {
				break
			}
		}
		if !okType {
			return fmt.Errorf("%s: want %v, got %T", at, types, v)
		}
	}
	if enum, ok := s["enum"].([]any); ok {
		found := false
		for _, e := range enum {
			if e == v {
				found = true
			}
		}
		if !found {
			return fmt.Errorf("%s: %v is not one of %v", at, v, enum)
		}
	}
	if pat, ok := s["pattern"].(string); ok {
		if str, isStr := v.(string); isStr && !regexp.MustCompile(pat).MatchString(str) {
			return fmt.Errorf("%s: %q does not match %s", at, str, pat)
		}
	}
	if alts, ok := s["anyOf"].([]any); ok {
		var errs []string
		matched := false
		for _, alt := range alts {
			if err := checkJSONSchema(root, alt.(map[string]any), v, at); err != nil {
				errs = append(errs, err.Error())
			} else {
				matched = true
			}
		}
		if !matched {
			return fmt.Errorf("%s: matches no alternative: %s", at, strings.Join(errs, "; "))
		}
	}
	if obj, ok := v.(map[string]any); ok {
		props, _ := s["properties"].(map[string]any)
		for _, r := range asSlice(s["required"]) {
			if _, ok := obj[r.(string)]; !ok {
				return fmt.Errorf("%s: %q is required", at, r)
			}
		}
		for k, val := range obj {
			if ps, ok := props[k]; ok {
				if err := checkJSONSchema(root, ps.(map[string]any), val, at+"."+k); err != nil {
					return err
				}
				continue
			}
			switch ap := s["additionalProperties"].(type) {
			case bool:
				if !ap {
					return fmt.Errorf("%s: unexpected property %q", at, k)
				}
			case map[string]any:
				if err := checkJSONSchema(root, ap, val, at+"."+k); err != nil {
					return err
				}
			}
		}
	}
	if arr, ok := v.([]any); ok {
		if items, ok := s["items"].(map[string]any); ok {
			for i, it := range arr {
				if err := checkJSONSchema(root, items, it, fmt.Sprintf("%s[%d]", at, i)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

func loadJSON(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(strings.TrimPrefix(string(b), "\ufeff")), &v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return v
}

func TestJSONSchemaCheckerRejects(t *testing.T) {
	schema := loadJSON(t, specPath(t, "azure-pipelines-tasks.schema.json"))
	base := loadJSON(t, taskJSON)
	tests := map[string]func(m map[string]any){
		"bad id":          func(m map[string]any) { m["id"] = "not-a-guid" },
		"unknown key":     func(m map[string]any) { m["runs"] = "x" },
		"bad input name":  func(m map[string]any) { m["inputs"].([]any)[0].(map[string]any)["name"] = "token-env" },
		"bad input type":  func(m map[string]any) { m["inputs"].([]any)[0].(map[string]any)["type"] = "password" },
		"unknown handler": func(m map[string]any) { m["execution"] = map[string]any{"Node21": map[string]any{"target": "x"}} },
		"no target":       func(m map[string]any) { m["execution"] = map[string]any{"Node20_1": map[string]any{}} },
	}
	for name, mutate := range tests {
		m := loadJSON(t, taskJSON)
		mutate(m)
		if err := checkJSONSchema(schema, schema, m, "task"); err == nil {
			t.Errorf("%s: the checker accepted it", name)
		}
	}
	if err := checkJSONSchema(schema, schema, base, "task"); err != nil {
		t.Errorf("unchanged: %v", err)
	}
}

func TestTaskJSON(t *testing.T) {
	schema := loadJSON(t, specPath(t, "azure-pipelines-tasks.schema.json"))
	task := loadJSON(t, taskJSON)
	if err := checkJSONSchema(schema, schema, task, "task.json"); err != nil {
		t.Fatalf("task.json is not valid against the task schema: %v", err)
	}
	for _, stage := range []string{"execution", "postjobexecution"} {
		h, ok := task[stage].(map[string]any)["Node20_1"].(map[string]any)
		if !ok {
			t.Errorf("%s: no Node20_1 handler", stage)
			continue
		}
		if _, err := os.Stat(filepath.Join("../tasks/patinject", h["target"].(string))); err != nil {
			t.Errorf("%s: %v", stage, err)
		}
	}
	var have []string
	for _, in := range task["inputs"].([]any) {
		m := in.(map[string]any)
		have = append(have, m["name"].(string))
		if m["type"] == "string" && strings.Contains(strings.ToLower(m["label"].(string)), "urls") {
			t.Errorf("input %s: a list is a multiLine input", m["name"])
		}
	}
	want := injectInputs(t, "azure")
	sameSet(t, "task.json inputs", have, want)
	sameSet(t, "tasks/patinject/common.js inputs", jsInputNames(t, "../tasks/patinject/common.js"), want)
	var outs []string
	for _, o := range task["outputVariables"].([]any) {
		outs = append(outs, o.(map[string]any)["name"].(string))
	}
	sameSet(t, "task.json outputVariables", outs, []string{"expiry", "authorizationId", "state"})
}

// --- The JavaScript, run by node with a fake patinject that records its argv and environment.

type fakeRun struct {
	argv []string
	env  map[string]string
}

// fakeBin writes an executable NAME into a new directory that records how it was started.
func fakeBin(t *testing.T, name, dump string, code int) string {
	t.Helper()
	dir := t.TempDir()
	script := fmt.Sprintf("#!/bin/sh\nprintf '%%s\\n' \"$@\" > %q/argv\nenv -0 > %q/env\nexit %d\n", dump, dump, code)
	if err := os.WriteFile(filepath.Join(dir, name), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func readFakeRun(t *testing.T, dump string) *fakeRun {
	t.Helper()
	argv, err := os.ReadFile(filepath.Join(dump, "argv"))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dump, "env"))
	if err != nil {
		t.Fatal(err)
	}
	r := &fakeRun{argv: strings.Split(strings.TrimSuffix(string(argv), "\n"), "\n"), env: map[string]string{}}
	for _, kv := range strings.Split(string(raw), "\x00") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			r.env[k] = v
		}
	}
	return r
}

// runNode runs script with exactly env (PATH included) and returns stdout and the exit code.
func runNode(t *testing.T, script string, env map[string]string) (string, int) {
	t.Helper()
	c := exec.Command(testpeer.Command(t, "node"), script)
	for k, v := range env {
		c.Env = append(c.Env, k+"="+v)
	}
	out, err := c.Output()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return string(out), code
}

func TestActionJavaScript(t *testing.T) {
	testpeer.Command(t, "node")
	abs := func(p string) string { a, _ := filepath.Abs(p); return a }
	dump := t.TempDir()
	bin := fakeBin(t, "patinject", dump, 3)
	stateFile := filepath.Join(t.TempDir(), "github_state")
	os.WriteFile(stateFile, nil, 0o600)
	env := map[string]string{
		"PATH":                           bin + ":/usr/bin:/bin",
		"GITHUB_STATE":                   stateFile,
		"RUNNER_TEMP":                    t.TempDir(),
		"INPUT_TOKEN":                    "env:CI_PAT",
		"INPUT_GIT":                      "https://dev.azure.com/contoso/\n\n  https://dev.azure.com/fabrikam/  \n",
		"INPUT_SECRETS":                  "A=env:X\nB=vault://pki/issue/ci?alt_names=a,b#certificate",
		"INPUT_TOKEN-ENV":                "AZURE_DEVOPS_EXT_PAT",
		"INPUT_DEBUG":                    "true",
		"INPUT_STRICT-CLEANUP":           "false",
		"INPUT_ADO-URL":                  "https://vssps.dev.azure.com",
		"PATINJECT_KEEP":                 "x",
		"ACTIONS_RUNTIME_TOKEN":          "leak-runtime-token",
		"ACTIONS_ID_TOKEN_REQUEST_TOKEN": "id-token-request",
	}
	out, code := runNode(t, abs("../action/main.js"), env)
	if code != 3 {
		t.Errorf("main.js exit %d, want patinject's 3\n%s", code, out)
	}
	if !strings.Contains(out, "(found on PATH)") {
		t.Errorf("main.js does not say which patinject it used:\n%s", out)
	}
	r := readFakeRun(t, dump)
	if r == nil {
		t.Fatal("patinject was not run")
	}
	// In the order of the input table, which follows the flags of inject.
	wantArgv := []string{"inject", "--platform", "github",
		"--secret", "A=env:X", "--secret", "B=vault://pki/issue/ci?alt_names=a,b#certificate",
		"--git", "https://dev.azure.com/contoso/", "--git", "https://dev.azure.com/fabrikam/",
		"--token-env", "AZURE_DEVOPS_EXT_PAT"}
	if strings.Join(r.argv, " ") != strings.Join(wantArgv, " ") {
		t.Errorf("argv:\ngot  %q\nwant %q", r.argv, wantArgv)
	}
	for k, want := range map[string]string{"PATINJECT_TOKEN": "env:CI_PAT", "PATINJECT_DEBUG": "true", "PATINJECT_STRICT_CLEANUP": "false", "PATINJECT_ADO_URL": "https://vssps.dev.azure.com", "PATINJECT_KEEP": "x"} {
		if r.env[k] != want {
			t.Errorf("env %s=%q, want %q", k, r.env[k], want)
		}
	}
	for k, v := range r.env {
		if strings.HasPrefix(k, "INPUT_") || strings.HasPrefix(v, "leak-") {
			t.Errorf("the child inherited %s", k)
		}
	}
	if r.env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"] == "" {
		t.Errorf("the child lacks what it needs to ask for the job's ID token")
	}
	saved := parseEnvFile(t, readText(t, stateFile))
	if saved["bin"] != filepath.Join(bin, "patinject") {
		t.Errorf("GITHUB_STATE bin=%q", saved["bin"])
	}

	// post.js: nothing recorded, nothing run.
	os.Remove(filepath.Join(dump, "argv"))
	post := map[string]string{"PATH": bin + ":/usr/bin:/bin", "INPUT_ADO-ACCESS-TOKEN": "env:ENTRA"}
	out, code = runNode(t, abs("../action/post.js"), post)
	if code != 0 || readFakeRun(t, dump) != nil || !strings.Contains(out, "nothing to clean up") {
		t.Errorf("post.js without state: exit %d, ran patinject %v\n%s", code, readFakeRun(t, dump) != nil, out)
	}
	// post.js with the state the main step saved: cleanup with the source inputs.
	post["STATE_state"] = "/runner/temp/patinject-state.json"
	post["STATE_bin"] = filepath.Join(bin, "patinject")
	post["STATE_binsha256"] = saved["binsha256"] // the main step's record of what it ran
	_, code = runNode(t, abs("../action/post.js"), post)
	r = readFakeRun(t, dump)
	if code != 3 || r == nil {
		t.Fatalf("post.js: exit %d, run %v", code, r)
	}
	if got := strings.Join(r.argv, " "); got != "cleanup --platform github --state /runner/temp/patinject-state.json" {
		t.Errorf("post argv %q", got)
	}
	if r.env["PATINJECT_ADO_ACCESS_TOKEN"] != "env:ENTRA" {
		t.Errorf("post: ado-access-token not passed: %q", r.env["PATINJECT_ADO_ACCESS_TOKEN"])
	}
}

func TestActionJavaScriptBuildsWhenNotOnPath(t *testing.T) {
	testpeer.Command(t, "node")
	abs, _ := filepath.Abs("../action/main.js")
	dump := t.TempDir()
	// A fake go that "builds" by writing the fake patinject where -o says.
	fake := fakeBin(t, "patinject", dump, 0)
	goDir := t.TempDir()
	goScript := fmt.Sprintf("#!/bin/sh\nwhile [ $# -gt 0 ]; do if [ \"$1\" = -o ]; then mkdir -p \"$(dirname \"$2\")\"; cp %q \"$2\"; fi; shift; done\n", filepath.Join(fake, "patinject"))
	os.WriteFile(filepath.Join(goDir, "go"), []byte(goScript), 0o755)
	temp := t.TempDir()
	out, code := runNode(t, abs, map[string]string{"PATH": goDir + ":/usr/bin:/bin", "RUNNER_TEMP": temp, "INPUT_SECRETS": "A=env:X"})
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, out)
	}
	built := filepath.Join(temp, "patinject-bin", "patinject")
	if !strings.Contains(out, "building it from") || !strings.Contains(out, built+" (built from source)") {
		t.Errorf("main.js does not say it built patinject:\n%s", out)
	}
	if r := readFakeRun(t, dump); r == nil || r.argv[0] != "inject" {
		t.Errorf("the built patinject was not run")
	}
}

func TestTaskJavaScriptScrubsAgentSecrets(t *testing.T) {
	testpeer.Command(t, "node")
	abs := func(p string) string { a, _ := filepath.Abs(p); return a }
	leaks := map[string]string{
		"SECRET_MYSECRET":                                         "leak-secret-variable",
		"ENDPOINT_AUTH_SYSTEMVSSCONNECTION":                       `{"parameters":{"AccessToken":"leak-endpoint-json"},"scheme":"OAuth"}`,
		"ENDPOINT_AUTH_SCHEME_ABC":                                "leak-scheme",
		"ENDPOINT_AUTH_PARAMETER_ABC_PASSWORD":                    "leak-endpoint-password",
		"ENDPOINT_AUTH_PARAMETER_SYSTEMVSSCONNECTION_ACCESSTOKEN": "job-access-token",
		"SECUREFILE_TICKET_XYZ":                                   "leak-ticket",
		"VSTS_TASKVARIABLE_STATE":                                 "leak-task-variable",
		"VSTS_SECRET_VARIABLES":                                   `["leak-names"]`,
		"secret_lowercase":                                        "leak-lowercase",
		"PATINJECT_TOKEN":                                         "leak-user-patinject-variable",
		"INPUT_TOKEN":                                             "env:SYSTEM_ACCESSTOKEN",
		"INPUT_SECRETS":                                           "ADO_PAT=env:SYSTEM_ACCESSTOKEN\nV=vault://secret/ci#x",
		"INPUT_GIT":                                               "https://dev.azure.com/contoso/",
		"INPUT_TOKENENV":                                          "AZURE_DEVOPS_EXT_PAT",
		"INPUT_ADOURL":                                            "https://vssps.example",
		"INPUT_GITCREDENTIALHELPER":                               "False",
		"INPUT_STRICTCLEANUP":                                     "true",
	}
	tests := []struct {
		name      string
		useToken  string
		wantToken bool
	}{
		{"job token not asked for", "false", false},
		{"job token asked for", "true", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dump := t.TempDir()
			bin := fakeBin(t, "patinject", dump, 0)
			env := map[string]string{"PATH": bin + ":/usr/bin:/bin", "AGENT_TEMPDIRECTORY": t.TempDir(), "TF_BUILD": "True", "INPUT_SYSTEMACCESSTOKEN": tt.useToken}
			for k, v := range leaks {
				env[k] = v
			}
			out, code := runNode(t, abs("../tasks/patinject/index.js"), env)
			if code != 0 {
				t.Fatalf("index.js exit %d\n%s", code, out)
			}
			if strings.Contains(out, "task.complete") {
				t.Errorf("a successful inject sets the task's result itself:\n%s", out)
			}
			r := readFakeRun(t, dump)
			if r == nil {
				t.Fatal("patinject was not run")
			}
			for k, v := range r.env {
				if strings.Contains(v, "leak-") {
					t.Errorf("the child inherited %s=%q", k, v)
				}
				if strings.HasPrefix(strings.ToUpper(k), "SECRET_") || strings.HasPrefix(k, "ENDPOINT_AUTH_") || strings.HasPrefix(k, "INPUT_") {
					t.Errorf("the child inherited %s", k)
				}
				if v == "job-access-token" && k != "SYSTEM_ACCESSTOKEN" {
					t.Errorf("the job token reached the child as %s", k)
				}
			}
			if got := r.env["SYSTEM_ACCESSTOKEN"] == "job-access-token"; got != tt.wantToken {
				t.Errorf("SYSTEM_ACCESSTOKEN passed: %v, want %v", got, tt.wantToken)
			}
			wantArgv := "inject --platform azure --secret ADO_PAT=env:SYSTEM_ACCESSTOKEN --secret V=vault://secret/ci#x --git https://dev.azure.com/contoso/ --token-env AZURE_DEVOPS_EXT_PAT"
			if got := strings.Join(r.argv, " "); got != wantArgv {
				t.Errorf("argv:\ngot  %s\nwant %s", got, wantArgv)
			}
			for k, want := range map[string]string{"PATINJECT_TOKEN": "env:SYSTEM_ACCESSTOKEN", "PATINJECT_ADO_URL": "https://vssps.example", "PATINJECT_GIT_CREDENTIAL_HELPER": "false", "PATINJECT_STRICT_CLEANUP": "true"} {
				if r.env[k] != want {
					t.Errorf("env %s=%q, want %q", k, r.env[k], want)
				}
			}
		})
	}
}

func TestTaskJavaScriptPostAndFailure(t *testing.T) {
	testpeer.Command(t, "node")
	abs := func(p string) string { a, _ := filepath.Abs(p); return a }
	dump := t.TempDir()
	bin := fakeBin(t, "patinject", dump, 123)
	temp := t.TempDir()
	// The execution handler pins the binary it ran for the post-job handler.
	out, code := runNode(t, abs("../tasks/patinject/index.js"), map[string]string{"PATH": bin + ":/usr/bin:/bin", "AGENT_TEMPDIRECTORY": temp, "INPUT_SECRETS": "A=env:B"})
	pinned := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(l), "##vso[task.settaskvariable variable="); ok {
			name, value, _ := strings.Cut(rest, ";]")
			pinned["VSTS_TASKVARIABLE_"+name] = value
		}
	}
	sum := sha256.Sum256([]byte(readText(t, filepath.Join(bin, "patinject"))))
	if pinned["VSTS_TASKVARIABLE_PATINJECT_BIN"] != filepath.Join(bin, "patinject") || pinned["VSTS_TASKVARIABLE_PATINJECT_BIN_SHA256"] != hex.EncodeToString(sum[:]) {
		t.Fatalf("index.js (exit %d) pinned %v\n%s", code, pinned, out)
	}
	os.Remove(filepath.Join(dump, "argv"))
	// The execution handler ran nothing: nothing to do, nothing run, even with a patinject at hand.
	env := map[string]string{"PATH": bin + ":/usr/bin:/bin", "AGENT_TEMPDIRECTORY": temp, "INPUT_STRICTCLEANUP": "true", "SECRET_X": "leak-x"}
	out, code = runNode(t, abs("../tasks/patinject/post.js"), env)
	if code != 0 || !strings.Contains(out, "nothing to clean up") || readFakeRun(t, dump) != nil {
		t.Fatalf("post.js without a pinned binary: exit %d\n%s", code, out)
	}
	for k, v := range pinned {
		env[k] = v
	}
	// Nothing recorded: cleanup runs, to take back what a patinject that died before writing
	// its state left in its journal.
	runNode(t, abs("../tasks/patinject/post.js"), env)
	if r := readFakeRun(t, dump); r == nil || r.argv[0] != "cleanup" {
		t.Fatalf("post.js without state did not run cleanup: %+v", r)
	}
	os.Remove(filepath.Join(dump, "argv"))
	os.WriteFile(filepath.Join(temp, "patinject-state.json"), []byte(`{"version":1}`), 0o600)
	out, code = runNode(t, abs("../tasks/patinject/post.js"), env)
	r := readFakeRun(t, dump)
	if r == nil || strings.Join(r.argv, " ") != "cleanup --platform azure --state "+filepath.Join(temp, "patinject-state.json") {
		t.Fatalf("post.js did not run cleanup: %+v\n%s", r, out)
	}
	if r.env["PATINJECT_STRICT_CLEANUP"] != "true" || r.env["SECRET_X"] != "" {
		t.Errorf("post env: %v", r.env)
	}
	if code != 1 || !strings.Contains(out, "##vso[task.complete result=Failed;]patinject cleanup failed (exit 123)") {
		t.Errorf("a failed cleanup does not fail the task: exit %d\n%s", code, out)
	}
	// A later step replaced the pinned binary (or put another first on PATH): refused, nothing
	// run, the task failed with the reason.
	os.Remove(filepath.Join(dump, "argv"))
	os.WriteFile(filepath.Join(bin, "patinject"), []byte("#!/bin/sh\ntouch "+dump+"/hostile\n"), 0o755)
	out, code = runNode(t, abs("../tasks/patinject/post.js"), env)
	if code != 1 || !strings.Contains(out, "was replaced after the execution handler ran it") {
		t.Errorf("a replaced binary: exit %d\n%s", code, out)
	}
	if _, err := os.Stat(filepath.Join(dump, "hostile")); err == nil {
		t.Errorf("the replaced binary ran")
	}

	// No patinject anywhere and no go: the task fails with one clear error.
	out, code = runNode(t, abs("../tasks/patinject/index.js"), map[string]string{"PATH": t.TempDir(), "AGENT_TEMPDIRECTORY": temp, "INPUT_SECRETS": "A=env:B"})
	if code != 1 || !strings.Contains(out, "##vso[task.logissue type=error;]patinject: patinject is not bundled with the task") {
		t.Errorf("exit %d\n%s", code, out)
	}
}

func TestGitLabTemplate(t *testing.T) {
	root := loadYAML(t, "../tasks/gitlab/patinject.gitlab-ci.yml")
	var tpl map[string]struct {
		Variables    map[string]string
		BeforeScript []string `yaml:"before_script"`
	}
	if err := root.Decode(&tpl); err != nil {
		t.Fatal(err)
	}
	job, ok := tpl[".patinject"]
	if !ok || len(job.BeforeScript) == 0 {
		t.Fatalf("no hidden job .patinject with a before_script: %+v", tpl)
	}
	sh, err := exec.LookPath("sh")
	if err != nil {
		testpeer.Missing(t, "no sh on PATH")
	}
	script := strings.Join(job.BeforeScript, "\n")
	run := func(path string) (string, error) {
		c := exec.Command(sh, "-ec", script)
		c.Env = []string{"PATH=" + path, "CI_PROJECT_DIR=" + t.TempDir()}
		for k, v := range job.Variables {
			c.Env = append(c.Env, k+"="+v)
		}
		out, err := c.CombinedOutput()
		return string(out), err
	}
	// patinject on PATH: used as it is.
	dump := t.TempDir()
	bin := fakeBin(t, "patinject", dump, 0)
	if out, err := run(bin + ":/usr/bin:/bin"); err != nil || !strings.Contains(out, "patinject: using "+filepath.Join(bin, "patinject")) {
		t.Errorf("with patinject on PATH: %v\n%s", err, out)
	}
	// No patinject on PATH and no release pinned (before the first release): one clear line, and
	// the job fails. (release/gitlab_test.go installs a pinned release from a local server.)
	if out, err := run(t.TempDir() + ":/usr/bin:/bin"); err == nil || !strings.Contains(out, "no release is pinned") {
		t.Errorf("without patinject and a pinned release: %v\n%s", err, out)
	}
}
