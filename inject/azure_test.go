package inject

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/patinject/patinject/secret"
)

// azureCmd is a logging command as the agent reads it (Command.cs, CommandStringConvertor.cs):
// "##vso[" anywhere in the line, the name up to the first space, properties split on ';' up to
// the first ']', the rest of the line the data; %0D, %0A, %5D, %3B and then %AZP25 decoded.
type azureCmd struct {
	name  string
	props map[string]string
	data  string
}

func parseAzureLine(line string) (azureCmd, bool) {
	i := strings.Index(line, "##vso[")
	if i < 0 {
		return azureCmd{}, false
	}
	rest := line[i+len("##vso["):]
	end := strings.IndexByte(rest, ']')
	if end < 0 {
		return azureCmd{}, false
	}
	info, data := rest[:end], rest[end+1:]
	c := azureCmd{props: map[string]string{}, data: unescapeAzure(data)}
	name, props, _ := strings.Cut(info, " ")
	c.name = name
	for _, p := range strings.Split(props, ";") {
		if strings.TrimSpace(p) == "" {
			continue
		}
		k, v, _ := strings.Cut(p, "=")
		c.props[strings.ToLower(k)] = unescapeAzure(v)
	}
	return c, true
}

func unescapeAzure(s string) string {
	s = strings.NewReplacer("%0D", "\r", "%0A", "\n", "%5D", "]", "%3B", ";").Replace(s)
	return strings.ReplaceAll(s, "%AZP25", "%")
}

func TestAzureEscape(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, data, prop string }{
		{"plain", "plain", "plain"},
		{"100%", "100%AZP25", "100%AZP25"},
		{"a;b]c", "a;b]c", "a%3Bb%5Dc"},
		{"a\r\nb", "a%0D%0Ab", "a%0D%0Ab"},
		{"%AZP25", "%AZP25AZP25", "%AZP25AZP25"},
		{"%0A%3B", "%AZP250A%AZP253B", "%AZP250A%AZP253B"},
	}
	for _, tt := range tests {
		if got := AzureEscapeData(tt.in); got != tt.data {
			t.Errorf("AzureEscapeData(%q): got %q, want %q", tt.in, got, tt.data)
		}
		if got := AzureEscapeProperty(tt.in); got != tt.prop {
			t.Errorf("AzureEscapeProperty(%q): got %q, want %q", tt.in, got, tt.prop)
		}
		if got := unescapeAzure(AzureEscapeData(tt.in)); got != tt.in {
			t.Errorf("data round trip of %q: got %q", tt.in, got)
		}
		if got := unescapeAzure(AzureEscapeProperty(tt.in)); got != tt.in {
			t.Errorf("property round trip of %q: got %q", tt.in, got)
		}
	}
}

func TestAzureEmit(t *testing.T) {
	t.Parallel()
	nasty := "p%AZP25;]x%0A%3B%5D##vso[task.setvariable variable=PATH]/evil::set-env"
	h := Handover{
		Masks: []string{"s3cr3t-token", nasty, "cert-line-1\ncert-line-2\n}"},
		Vars: []Var{
			{Name: "ADO_PAT", Value: secret.NewValue("s3cr3t-token"), Secret: true},
			{Name: "NASTY", Value: secret.NewValue(nasty), Secret: true},
			{Name: "PLAIN", Value: secret.NewValue("multi\nline ok;]%")},
			{Name: "GIT_CONFIG_COUNT", Value: secret.NewValue("1")},
		},
		Outputs: []Output{{Name: "authorization-id", Value: "id;1]"}},
	}
	var out bytes.Buffer
	if err := (Azure{Stdout: &out}).Emit(h); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	var cmds []azureCmd
	for _, l := range lines {
		// The agent takes the first "##vso[" of a line and its first ']': ours, at the start.
		if !strings.HasPrefix(l, "##vso[") {
			t.Errorf("line %q: want a command at the start", l)
		}
		c, ok := parseAzureLine(l)
		if !ok {
			t.Fatalf("line %q does not parse", l)
		}
		cmds = append(cmds, c)
	}
	// Masks first: every setsecret comes before the first setvariable.
	var secrets []string
	seenVar := false
	vars := map[string]azureCmd{}
	for _, c := range cmds {
		switch c.name {
		case "task.setsecret":
			if seenVar {
				t.Errorf("setsecret %q after a setvariable", c.data)
			}
			secrets = append(secrets, c.data)
		case "task.setvariable":
			seenVar = true
			vars[c.props["variable"]] = c
		default:
			t.Errorf("unexpected command %q", c.name)
		}
	}
	wantSecrets := []string{"s3cr3t-token", nasty, "cert-line-1", "cert-line-2"}
	if strings.Join(secrets, "|") != strings.Join(wantSecrets, "|") {
		t.Errorf("setsecret:\ngot  %q\nwant %q", secrets, wantSecrets)
	}
	for _, s := range secrets {
		if strings.ContainsAny(s, "\r\n") {
			t.Errorf("multi-line setsecret %q", s)
		}
	}
	for _, v := range h.Vars {
		c, ok := vars[v.Name]
		if !ok {
			t.Errorf("%s: not set", v.Name)
			continue
		}
		if c.data != v.Value.Reveal() {
			t.Errorf("%s: got %q, want %q", v.Name, c.data, v.Value.Reveal())
		}
		if (c.props["issecret"] == "true") != v.Secret {
			t.Errorf("%s: issecret=%q, want secret %v", v.Name, c.props["issecret"], v.Secret)
		}
	}
	if c := vars["authorizationId"]; c.data != "id;1]" || c.props["isoutput"] != "true" {
		t.Errorf("output authorizationId: %+v", c)
	}
}

func TestAzureEmitRefusesMultilineSecret(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	err := Azure{Stdout: &out}.Emit(Handover{
		Masks: []string{"-----BEGIN KEY-----\nabcdefgh\n-----END KEY-----"},
		Vars: []Var{
			{Name: "OK", Value: secret.NewValue("fine"), Secret: true},
			{Name: "TLS_KEY", Value: secret.NewValue("-----BEGIN KEY-----\nabcdefgh\n-----END KEY-----"), Secret: true},
		},
	})
	var me *MultilineSecretError
	if !errors.As(err, &me) || me.Name != "TLS_KEY" {
		t.Fatalf("got %v, want a MultilineSecretError naming TLS_KEY", err)
	}
	if strings.Contains(err.Error(), "abcdefgh") || !strings.Contains(err.Error(), "--as-file TLS_KEY") {
		t.Errorf("error %q: want the name and the way out, never the value", err)
	}
	if out.Len() > 0 {
		t.Errorf("printed before refusing: %q", out.String())
	}
}

func TestAzureEmitPercentsNotDecoded(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if err := (Azure{Stdout: &out, PercentsNotDecoded: true}).Emit(Handover{
		Masks: []string{"50%off"},
		Vars:  []Var{{Name: "A", Value: secret.NewValue("50%off"), Secret: true}},
	}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "AZP25") || !strings.Contains(out.String(), "]50%off\n") {
		t.Errorf("got %q, want '%%' as it is", out.String())
	}
	err := Azure{Stdout: &out, PercentsNotDecoded: true}.Emit(Handover{
		Vars: []Var{{Name: "B", Value: secret.NewValue("a%0Ab"), Secret: true}},
	})
	if err == nil || !strings.Contains(err.Error(), "B:") {
		t.Errorf("got %v, want a refusal naming B", err)
	}
}

func TestAzureOutputName(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"expiry": "expiry", "authorization-id": "authorizationId", "state": "state", "a-b-c": "aBC"} {
		if got := AzureOutputName(in); got != want {
			t.Errorf("AzureOutputName(%q): got %q, want %q", in, got, want)
		}
	}
}

func TestAzureEmitSummary(t *testing.T) {
	t.Parallel()
	file := t.TempDir() + "/summary.md"
	var out bytes.Buffer
	err := Azure{Stdout: &out, SummaryFile: file}.Emit(Handover{
		Masks:   []string{"s3cr3t-token"},
		Vars:    []Var{{Name: "ADO_PAT", Value: secret.NewValue("s3cr3t-token"), Secret: true}},
		Summary: []SummaryRow{{What: "ADO_PAT", How: "secret variable", Detail: "env:CI_PAT"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if last := lines[len(lines)-1]; last != "##vso[task.uploadsummary]"+file {
		t.Errorf("last line %q: want the summary attached after the variables", last)
	}
	b, err := os.ReadFile(file)
	if err != nil || !strings.Contains(string(b), "ADO\\_PAT") || strings.Contains(string(b), "s3cr3t") {
		t.Errorf("summary %q, %v", b, err)
	}
}

// FuzzAzureCommand: property and data of any value come back whole through the agent's parser,
// and the command is the only one on its line.
func FuzzAzureCommand(f *testing.F) {
	for _, s := range []string{"", "a;b]c", "%AZP25%0A%3B%5D", "x\r\n##vso[task.setvariable variable=PATH]y", "]]]"} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, prop, data string) {
		line := AzureCommand("task.setvariable", [][2]string{{"variable", prop}}, data)
		if strings.ContainsAny(line, "\r\n") {
			t.Fatalf("line break in %q", line)
		}
		c, ok := parseAzureLine(line)
		if !ok || c.name != "task.setvariable" || c.props["variable"] != prop || c.data != data {
			t.Fatalf("%q parses as %+v", line, c)
		}
	})
}

// Directories for the later steps' PATH become task.prependpath commands.
func TestAzureEmitPath(t *testing.T) {
	var out bytes.Buffer
	if err := (Azure{Stdout: &out}).Emit(Handover{Path: []string{"/agent/_temp/patinject-1/bin"}}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "##vso[task.prependpath]/agent/_temp/patinject-1/bin\n") {
		t.Errorf("output:\n%s", out.String())
	}
	out.Reset()
	if err := (Azure{Stdout: &out}).Emit(Handover{Path: []string{"/a\n##vso[task.setvariable variable=X]y"}}); err == nil || out.Len() != 0 {
		t.Errorf("a line break in a PATH directory: err %v, printed %q", err, out.String())
	}
}
