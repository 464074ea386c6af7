package inject

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/patinject/patinject/secret"
)

// parseGitHubEnvFile reads an environment file the way the runner does (actions/runner
// FileCommandManager EnvFileKeyValuePairs): NAME=VALUE, or NAME<<DELIM then lines up to a line
// equal to DELIM.
func parseGitHubEnvFile(s string) (map[string]string, []string, error) {
	out := map[string]string{}
	var order []string
	lines := strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if line == "" {
			continue
		}
		eq, hd := strings.Index(line, "="), strings.Index(line, "<<")
		var key, value string
		switch {
		case eq >= 0 && (hd < 0 || eq < hd):
			key, value = line[:eq], line[eq+1:]
		case hd >= 0:
			key = line[:hd]
			delim := line[hd+2:]
			if key == "" || delim == "" {
				return nil, nil, errors.New("invalid format: empty name or delimiter")
			}
			var vals []string
			found := false
			for i++; i < len(lines); i++ {
				if lines[i] == delim {
					found = true
					break
				}
				vals = append(vals, lines[i])
			}
			if !found {
				return nil, nil, errors.New("matching delimiter not found")
			}
			value = strings.Join(vals, "\n")
		default:
			return nil, nil, fmt.Errorf("invalid format %q", line)
		}
		if key == "" {
			return nil, nil, errors.New("empty name")
		}
		out[key] = value
		order = append(order, key)
	}
	return out, order, nil
}

// fixedRand returns the same bytes forever: every delimiter drawn from it is the same.
type fixedRand byte

func (f fixedRand) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(f)
	}
	return len(p), nil
}

func TestGitHubFileEntry(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, value string
	}{
		{"plain", "s3cr3t-token"},
		{"workflow command", "x\n::set-env name=PATH::/evil\n::add-mask::"},
		{"azure command", "##vso[task.setvariable variable=PATH]x"},
		{"fake entry", "x\nghadelimiter_0000\nEVIL=1\n"},
		{"crlf and lf", "a\r\nb\nc\r"},
		{"percent semicolon bracket", "%25%AZP25;]%0A"},
		{"empty", ""},
		{"ends with newline", "line\n"},
		{"equals and heredoc marker", "A=B<<C"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			entry, err := GitHubFileEntry("MY_VAR", tt.value, nil)
			if err != nil {
				t.Fatal(err)
			}
			got, order, err := parseGitHubEnvFile(entry)
			if err != nil {
				t.Fatalf("runner would reject %q: %v", entry, err)
			}
			if len(order) != 1 || order[0] != "MY_VAR" {
				t.Fatalf("entry sets %v, want only MY_VAR", order)
			}
			// The runner reads CRLF as a line break, also the one that ends the value.
			want := strings.TrimSuffix(strings.ReplaceAll(tt.value+"\n", "\r\n", "\n"), "\n")
			if got["MY_VAR"] != want {
				t.Errorf("got %q, want %q", got["MY_VAR"], want)
			}
		})
	}
}

func TestGitHubFileEntryDelimiterNeverInValue(t *testing.T) {
	t.Parallel()
	// A broken randomness source that always draws the delimiter the value already holds must
	// not produce an entry whose delimiter the value contains.
	delim := GitHubDelimiterPrefix + strings.Repeat("ab", 16)
	value := "a\n" + delim + "\nEVIL=1"
	if _, err := GitHubFileEntry("X", value, fixedRand(0xab)); err == nil {
		t.Fatal("got an entry although every delimiter drawn occurs in the value")
	}
	entry, err := GitHubFileEntry("X", value, nil)
	if err != nil {
		t.Fatal(err)
	}
	first, _, _ := strings.Cut(entry, "\n")
	d := strings.TrimPrefix(first, "X<<")
	if !strings.HasPrefix(d, GitHubDelimiterPrefix) || len(d) != len(GitHubDelimiterPrefix)+32 {
		t.Fatalf("delimiter %q: want %s and 32 hex digits", d, GitHubDelimiterPrefix)
	}
	if strings.Contains(value, d) {
		t.Fatalf("delimiter %q occurs in the value", d)
	}
}

func TestGitHubFileEntryRefusesBadNames(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"", "A=B", "A<<B", "A\nB", "A B"} {
		if _, err := GitHubFileEntry(name, "v", nil); err == nil {
			t.Errorf("%q: got no error", name)
		}
	}
}

func TestGitHubEscapeData(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"100%", "100%25"},
		{"a\nb", "a%0Ab"},
		{"a\r\nb", "a%0D%0Ab"},
		{"%0A", "%250A"},
		{"x\n::set-env name=A::b", "x%0A::set-env name=A::b"},
	}
	for _, tt := range tests {
		if got := GitHubEscapeData(tt.in); got != tt.want {
			t.Errorf("GitHubEscapeData(%q): got %q, want %q", tt.in, got, tt.want)
		}
	}
	if got, want := GitHubEscapeProperty("a:b,c%\n"), "a%3Ab%2Cc%25%0A"; got != want {
		t.Errorf("GitHubEscapeProperty: got %q, want %q", got, want)
	}
}

// unescapeGitHubData is the runner's unescaping of command data.
func unescapeGitHubData(s string) string {
	return strings.NewReplacer("%0D", "\r", "%0A", "\n", "%25", "%").Replace(s)
}

func TestGitHubMaskCommands(t *testing.T) {
	t.Parallel()
	masks := []string{
		"tok3n-value",
		"line-one\nline-two\r\n  padded  \n}",
		"x\n::set-env name=PATH::/evil",
		"100%0A;]",
		"tok3n-value", // duplicate
		"",
	}
	out := GitHubMaskCommands(masks)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	var got []string
	for _, l := range lines {
		data, ok := strings.CutPrefix(l, "::add-mask::")
		if !ok {
			t.Fatalf("line %q is not an add-mask command", l)
		}
		got = append(got, unescapeGitHubData(data))
	}
	want := []string{
		"tok3n-value",
		"line-one\nline-two\r\n  padded  \n}", "line-one", "line-two", "  padded  ", "padded",
		"x\n::set-env name=PATH::/evil", "::set-env name=PATH::/evil",
		"100%0A;]",
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("masks:\ngot  %q\nwant %q", got, want)
	}
}

func TestGitHubEmit(t *testing.T) {
	t.Parallel()
	var stdout, env, output, summary bytes.Buffer
	g := GitHub{Stdout: &stdout, Env: &env, Output: &output, Summary: &summary, Title: "patinject"}
	evil := "x\n::set-env name=PATH::/evil\n##vso[task.setvariable variable=PATH]x"
	h := Handover{
		Masks: []string{"s3cr3t", evil},
		Vars: []Var{
			{Name: "ADO_PAT", Value: secret.NewValue("s3cr3t"), Secret: true},
			{Name: "EVIL", Value: secret.NewValue(evil), Secret: true},
			{Name: "NPM_CONFIG_USERCONFIG", Value: secret.NewValue("/tmp/x/.npmrc")},
		},
		Outputs: []Output{{Name: "expiry", Value: "2026-11-27T14:00:00Z"}, {Name: "authorization-id", Value: "abc"}},
		Summary: []SummaryRow{{What: "ADO_PAT", How: "secret variable", Detail: "env:CI_PAT | <b>x</b>\n| injected | row |"}},
	}
	if err := g.Emit(h); err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		if !strings.HasPrefix(l, "::add-mask::") {
			t.Errorf("stdout line %q is not an add-mask command", l)
		}
	}
	vars, order, err := parseGitHubEnvFile(env.String())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(order, ",") != "ADO_PAT,EVIL,NPM_CONFIG_USERCONFIG" {
		t.Errorf("GITHUB_ENV sets %v", order)
	}
	if vars["EVIL"] != evil || vars["ADO_PAT"] != "s3cr3t" {
		t.Errorf("GITHUB_ENV values do not round-trip: %q", vars)
	}
	outs, _, err := parseGitHubEnvFile(output.String())
	if err != nil || outs["authorization-id"] != "abc" || outs["expiry"] != "2026-11-27T14:00:00Z" {
		t.Errorf("GITHUB_OUTPUT: %q, %v", outs, err)
	}
	sum := summary.String()
	if strings.Contains(sum, "s3cr3t") || strings.Contains(sum, "<b>") {
		t.Errorf("summary holds a value or raw HTML:\n%s", sum)
	}
	if n := strings.Count(sum, "\n| "); n != 2 { // header and one row
		t.Errorf("summary has %d table rows, want 2 (header and one row):\n%s", n, sum)
	}
}

func TestGitHubEmitRefusesBeforePrinting(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		vars []Var
		want string
	}{
		{"NODE_OPTIONS", []Var{{Name: "A", Value: secret.NewValue("x")}, {Name: "NODE_OPTIONS", Value: secret.NewValue("--require /x")}}, "NODE_OPTIONS"},
		{"bad name", []Var{{Name: "A=B", Value: secret.NewValue("x")}}, "not a valid variable name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var stdout, env bytes.Buffer
			err := GitHub{Stdout: &stdout, Env: &env}.Emit(Handover{Masks: []string{"s3cr3t"}, Vars: tt.vars})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error naming %s", err, tt.want)
			}
			if stdout.Len()+env.Len() > 0 {
				t.Errorf("something was written before the refusal: stdout %q, env %q", stdout.String(), env.String())
			}
		})
	}
}

// FuzzGitHubFileEntry: whatever the value, the runner reads back exactly one variable, with the
// value (line breaks as the runner normalises them).
func FuzzGitHubFileEntry(f *testing.F) {
	for _, s := range []string{"", "x", "a\nb", "x\nghadelimiter_00\nEVIL=1", "A<<B\nB\n", "\r\n\r", "::set-env name=A::b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, value string) {
		entry, err := GitHubFileEntry("NAME", value, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, order, err := parseGitHubEnvFile(entry)
		if err != nil {
			t.Fatalf("runner would reject: %v", err)
		}
		if len(order) != 1 || order[0] != "NAME" {
			t.Fatalf("sets %v", order)
		}
		want := strings.TrimSuffix(strings.ReplaceAll(value+"\n", "\r\n", "\n"), "\n")
		if got["NAME"] != want {
			t.Fatalf("got %q, want %q", got["NAME"], want)
		}
	})
}

// FuzzGitHubMaskCommands: each line is one add-mask command whose data unescapes to a mask or
// a line of one.
func FuzzGitHubMaskCommands(f *testing.F) {
	f.Add("tok3n\n::set-env name=A::b\r\n%0A")
	f.Fuzz(func(t *testing.T, mask string) {
		out := GitHubMaskCommands([]string{mask})
		for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
			if l == "" {
				continue
			}
			data, ok := strings.CutPrefix(l, "::add-mask::")
			if !ok {
				t.Fatalf("line %q", l)
			}
			if v := unescapeGitHubData(data); !strings.Contains(mask, v) {
				t.Fatalf("mask %q registers %q", mask, v)
			}
		}
	})
}

// Directories for the later steps' PATH go to GITHUB_PATH, one a line; without GITHUB_PATH, or
// with a line break in a directory, nothing is written at all.
func TestGitHubEmitPath(t *testing.T) {
	var env, path bytes.Buffer
	h := Handover{Path: []string{"/tmp/patinject-1/bin"}, Vars: []Var{{Name: "A", Value: secret.NewValue("1")}}}
	if err := (GitHub{Env: &env, Path: &path}).Emit(h); err != nil {
		t.Fatal(err)
	}
	if path.String() != "/tmp/patinject-1/bin\n" {
		t.Errorf("GITHUB_PATH: %q", path.String())
	}
	for _, bad := range []GitHub{{Env: &env}, {Env: &env, Path: &path}} {
		env.Reset()
		path.Reset()
		hh := h
		if bad.Path != nil {
			hh.Path = []string{"/tmp/x\n/evil"}
		}
		if err := bad.Emit(hh); err == nil || env.Len() != 0 || path.Len() != 0 {
			t.Errorf("%+v: err %v, wrote %q %q", hh.Path, err, env.String(), path.String())
		}
	}
}
