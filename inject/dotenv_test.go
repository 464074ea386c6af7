package inject

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/joho/godotenv"

	"github.com/patinject/patinject/secret"

	"github.com/patinject/patinject/internal/testpeer"
)

func TestDotenvRoundTrip(t *testing.T) {
	t.Parallel()
	vars := []Var{
		{Name: "PLAIN", Value: secret.NewValue("s3cr3t")},
		{Name: "SHELLY", Value: secret.NewValue(`$HOME ${HOME} $(id) "q" \n \$ ; # not a comment`)},
		{Name: "MULTI", Value: secret.NewValue("-----BEGIN-----\nabc\n-----END-----")},
		{Name: "EMPTY", Value: secret.NewValue("")},
		{Name: "CMD", Value: secret.NewValue("x\n::set-env name=A::b\n##vso[task.setvariable variable=PATH]x")},
	}
	b, err := Dotenv(vars)
	if err != nil {
		t.Fatal(err)
	}
	got, err := godotenv.UnmarshalBytes(b)
	if err != nil {
		t.Fatalf("godotenv: %v", err)
	}
	for _, v := range vars {
		if got[v.Name] != v.Value.Reveal() {
			t.Errorf("godotenv %s: got %q, want %q", v.Name, got[v.Name], v.Value.Reveal())
		}
	}
	if len(got) != len(vars) {
		t.Errorf("godotenv read %d variables, want %d", len(got), len(vars))
	}

	sh, err := exec.LookPath("sh")
	if err != nil {
		testpeer.Missing(t, "no sh on PATH")
	}
	file := filepath.Join(t.TempDir(), "x.env")
	if err := os.WriteFile(file, b, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, v := range vars {
		out, err := exec.Command(sh, "-c", `. "$1" && printf '%s' "$`+v.Name+`"`, "sh", file).Output()
		if err != nil {
			t.Fatalf("sh: %v", err)
		}
		if string(out) != v.Value.Reveal() {
			t.Errorf("sh %s: got %q, want %q", v.Name, out, v.Value.Reveal())
		}
	}
}

func TestDotenvRefuses(t *testing.T) {
	t.Parallel()
	for name, value := range map[string]string{"QUOTE": "it's", "CR": "a\r\nb", "BACKSLASH": `ends\`} {
		_, err := Dotenv([]Var{{Name: name, Value: secret.NewValue(value)}})
		if err == nil || !strings.HasPrefix(err.Error(), name+":") || strings.Contains(err.Error(), value) {
			t.Errorf("%s: got %v, want a refusal naming the variable and not the value", name, err)
		}
	}
}
