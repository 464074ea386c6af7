package cmd_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/patinject/patinject/cmd"
	"github.com/patinject/patinject/internal/wrappers"
)

// The wrappers' input tables are derived from the flags of inject: a flag added (a new tool, a
// new source's flag) without `go generate ./cmd` fails here, with the file that is out of step.
func TestWrappersInStepWithFlags(t *testing.T) {
	inputs := cmd.WrapperInputs()
	if len(inputs) < 20 {
		t.Fatalf("only %d inputs derived from the flags of inject", len(inputs))
	}
	for _, f := range wrappers.Files {
		b, err := os.ReadFile(filepath.Join("..", f.Path))
		if err != nil {
			t.Fatal(err)
		}
		got, err := f.Sync(b, inputs)
		if err != nil {
			t.Fatalf("%s: %v", f.Path, err)
		}
		if !bytes.Equal(got, b) {
			t.Errorf("%s is out of step with the flags of inject: run go generate ./cmd", f.Path)
		}
	}
}

// Sync adds an input for a new flag and keeps what is written by hand.
func TestWrappersSyncAddsNewFlag(t *testing.T) {
	inputs := append(cmd.WrapperInputs(), wrappers.Input{Flag: "pip", GitHub: "pip", Azure: "pip", Kind: "list", Usage: "pip index `URL`", Category: "Tools"})
	for _, f := range wrappers.Files {
		b, err := os.ReadFile(filepath.Join("..", f.Path))
		if err != nil {
			t.Fatal(err)
		}
		got, err := f.Sync(b, inputs)
		if err != nil {
			t.Fatalf("%s: %v", f.Path, err)
		}
		if !bytes.Contains(got, []byte("pip")) || len(got) <= len(b) {
			t.Errorf("%s: no input added for the new flag --pip", f.Path)
		}
		again, err := f.Sync(got, inputs)
		if err != nil || !bytes.Equal(again, got) {
			t.Errorf("%s: a second sync changes the file again", f.Path)
		}
	}
}
