package cmd

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/patinject/patinject/cleanup"
	"github.com/patinject/patinject/internal/testpeer"
)

// taskLibParse parses each line with azure-pipelines-task-lib's own command parser
// (taskcommand.commandFromString, the agent's rules) and formats the result again with its
// TaskCommand.toString, the escaping tl.setVariable and tl.setSecret use.
type taskLibCommand struct {
	Command    string            `json:"command"`
	Properties map[string]string `json:"properties"`
	Message    string            `json:"message"`
	Again      string            `json:"again"`
	Error      string            `json:"error"`
}

const taskLibScript = `
const tc = require('azure-pipelines-task-lib/taskcommand');
let input = '';
process.stdin.on('data', (d) => { input += d; });
process.stdin.on('end', () => {
  const out = JSON.parse(input).map((line) => {
    try {
      const c = tc.commandFromString(line);
      return { command: c.command, properties: c.properties, message: c.message, again: c.toString() };
    } catch (e) {
      return { error: String(e.message) };
    }
  });
  process.stdout.write(JSON.stringify(out));
});
`

func taskLibParse(t *testing.T, lines []string) []taskLibCommand {
	t.Helper()
	dir := testpeer.Env(t, "PATINJECT_TEST_TASKLIB")
	node := testpeer.Command(t, "node")
	in, _ := json.Marshal(lines)
	c := exec.Command(node, "-e", taskLibScript)
	c.Dir = dir
	c.Env = []string{"NODE_PATH=" + filepath.Join(dir, "node_modules"), "PATH=/usr/bin:/bin"}
	c.Stdin = strings.NewReader(string(in))
	out, err := c.Output()
	if err != nil {
		t.Fatalf("node with task-lib: %v", err)
	}
	var cmds []taskLibCommand
	if err := json.Unmarshal(out, &cmds); err != nil {
		t.Fatalf("task-lib output %q: %v", out, err)
	}
	return cmds
}

// TestAzureCommandsThroughTaskLib runs inject for Azure Pipelines with values full of what the
// agent's escaping must carry (%, ;, ], CR, LF, and text that looks like logging commands), and
// parses every line it printed with task-lib: each is a command, decodes to the original value,
// and is exactly what task-lib itself would have printed for it.
func TestAzureCommandsThroughTaskLib(t *testing.T) {
	const (
		nasty     = "p%AZP25;]x%0A%3B%5D%25 100% ;; ]] ##vso[task.setvariable variable=PATH]/evil ::set-env name=A::b"
		plainCRLF = "first;line]%\r\nsecond %0D line\nthird ##vso[task.complete result=Failed]"
		pem       = "-----BEGIN KEY-----\r\nAB%CD;EF]GH\nIJ##vso[x]KL\n-----END KEY-----"
	)
	temp := t.TempDir()
	env := fakeEnv{
		"TF_BUILD": "True", "AGENT_TEMPDIRECTORY": temp, "HOME": t.TempDir(),
		"NASTY": nasty, "PLAIN_CRLF": plainCRLF, "PEM": pem, "CI_PAT": testPAT,
	}
	stdout, stderr, code := runInProcess(t, env, "inject",
		"--token", "env:NASTY", "--git", "https://dev.azure.example/org/", "--token-env", "TOKEN_VAR",
		"--secret", "NASTY_VAR=env:NASTY", "--secret", "PLAIN=env:PLAIN_CRLF", "--not-secret", "PLAIN",
		"--secret", "KEY=env:PEM", "--as-file", "KEY", "--secret", "ADO_PAT=env:CI_PAT")
	if code != 0 {
		t.Fatalf("inject: exit %d\n%s", code, stderr)
	}
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	cmds := taskLibParse(t, lines)

	vars := map[string]taskLibCommand{}
	secrets := map[string]bool{}
	taskVars := fakeEnv{"TF_BUILD": "True", "AGENT_TEMPDIRECTORY": temp}
	for i, c := range cmds {
		if c.Error != "" {
			t.Errorf("task-lib cannot parse %q: %s", lines[i], c.Error)
			continue
		}
		if c.Again != lines[i] {
			t.Errorf("line does not round-trip through task-lib:\n  printed  %q\n  task-lib %q", lines[i], c.Again)
		}
		switch c.Command {
		case "task.setsecret":
			if strings.ContainsAny(c.Message, "\r\n") {
				t.Errorf("a multi-line setsecret: %q", c.Message)
			}
			secrets[c.Message] = true
		case "task.setvariable":
			vars[c.Properties["variable"]] = c
		case "task.settaskvariable":
			// The key that seals the cleanup state, for this task's post-job step only.
			if c.Properties["variable"] != cleanup.AzureTaskVariable || c.Properties["issecret"] != "true" {
				t.Errorf("task variable %+v: want the secret %s", c.Properties, cleanup.AzureTaskVariable)
			}
			taskVars[cleanup.AzureTaskVariableEnv] = c.Message
		case "task.uploadsummary":
			summary := readText(t, c.Message)
			for _, v := range []string{nasty, testPAT, "AB%CD"} {
				if strings.Contains(summary, v) {
					t.Errorf("the summary holds a value")
				}
			}
		default:
			t.Errorf("unexpected command %q", c.Command)
		}
	}
	for _, want := range []string{nasty, testPAT, "AB%CD;EF]GH", "IJ##vso[x]KL", "-----BEGIN KEY-----"} {
		if !secrets[want] {
			t.Errorf("%q is not registered with setsecret", want)
		}
	}
	for name, want := range map[string]struct {
		value  string
		secret bool
	}{
		"NASTY_VAR": {nasty, true},
		"TOKEN_VAR": {nasty, true},
		"ADO_PAT":   {testPAT, true},
		"PLAIN":     {plainCRLF, false},
	} {
		c, ok := vars[name]
		if !ok {
			t.Errorf("%s: not set", name)
			continue
		}
		if c.Message != want.value {
			t.Errorf("%s: task-lib decodes %q, want %q", name, c.Message, want.value)
		}
		if (c.Properties["issecret"] == "true") != want.secret {
			t.Errorf("%s: issecret=%q, want secret %v", name, c.Properties["issecret"], want.secret)
		}
	}
	if c := vars["KEY"]; c.Properties["issecret"] == "true" || readText(t, c.Message) != pem {
		t.Errorf("KEY: want a plain variable naming a file that holds the key, got %+v", c)
	}
	if out, _, code := runInProcess(t, taskVars, "cleanup"); code != 0 || out != "" {
		t.Errorf("cleanup failed: %q", out)
	}
	if entries, _ := os.ReadDir(temp); len(entries) != 0 {
		t.Errorf("left behind: %v", entries)
	}
}
