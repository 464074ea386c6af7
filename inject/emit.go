package inject

import (
	"fmt"
	"strings"
	"time"

	"github.com/patinject/patinject/secret"
)

// Handover is what `inject` gives the CI platform once the plan's files are written: the forms
// to mask, the variables later steps see, non-secret outputs, and a summary for people. A
// platform emitter turns it into that platform's commands, masking before anything else.
type Handover struct {
	// Masks are every secret value and derived form, raw. Emitters register each one, and each
	// line of a multi-line one, with the platform's masker before they print anything else.
	Masks []string
	Vars  []Var
	// Path are directories to put first on the later steps' PATH, the platform's way
	// (GITHUB_PATH, task.prependpath); a dotenv cannot.
	Path []string
	// Outputs are facts that are never secret (expiry, authorization ids, the state file).
	Outputs []Output
	Summary []SummaryRow
}

// Var is a variable handed to the later steps of the job.
type Var struct {
	Name   string
	Value  secret.Value
	Secret bool // false for pointers (GIT_CONFIG_*, NPM_CONFIG_USERCONFIG) and --not-secret values
}

// Output is a named, non-secret fact of the step.
type Output struct {
	Name  string // kebab-case ("authorization-id"); emitters rename it to their platform's style
	Value string
}

// SummaryRow is one line of the summary shown to people: what was injected, how, for what, and
// until when. It never holds a value.
type SummaryRow struct {
	What   string    // "ADO_PAT", "git", "PAT patinject contoso/app run 42"
	How    string    // "secret variable", "git credentials", "minted PAT", ...
	Detail string    // scope, URL, or where the secret came from
	Expiry time.Time // zero: none known
}

// maskAtoms lists what to register with a masker for every mask: the value itself and, for a
// multi-line value, each of its lines, without duplicates or empty strings. Lines shorter than
// MinSecretLen are left out: masking "}" or "--" would shred the whole log and protect nothing.
// When whole is false, multi-line values themselves are left out (a line-based masker never sees
// them whole).
func maskAtoms(masks []string, whole bool) []string {
	seen := map[string]bool{}
	var out []string
	add := func(s string) {
		if strings.TrimSpace(s) == "" || seen[s] {
			return
		}
		seen[s] = true
		out = append(out, s)
	}
	for _, m := range masks {
		multi := strings.ContainsAny(m, "\r\n")
		if !multi || whole {
			add(m)
		}
		if !multi {
			continue
		}
		for _, line := range strings.FieldsFunc(m, func(r rune) bool { return r == '\r' || r == '\n' }) {
			if len(strings.TrimSpace(line)) >= MinSecretLen {
				add(line)
				if t := strings.TrimSpace(line); t != line {
					add(t)
				}
			}
		}
	}
	return out
}

// checkVarNames refuses names that no platform takes as a variable.
func checkVarNames(vars []Var) error {
	for _, v := range vars {
		if !isEnvName(v.Name) {
			return fmt.Errorf("%q is not a valid variable name (letters, digits and '_', not starting with a digit)", v.Name)
		}
	}
	return nil
}

func isEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		switch {
		case c == '_', c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z':
		case i > 0 && c >= '0' && c <= '9':
		default:
			return false
		}
	}
	return true
}

// SummaryMarkdown renders rows as a Markdown table. Every cell is escaped, so that a label that
// came from a server cannot add rows, links or HTML.
func SummaryMarkdown(title string, rows []SummaryRow) string {
	var b strings.Builder
	fmt.Fprintf(&b, "### %s\n\n", mdCell(title))
	if len(rows) == 0 {
		b.WriteString("Nothing was injected.\n")
		return b.String()
	}
	b.WriteString("| What | How | Detail | Expires |\n|---|---|---|---|\n")
	for _, r := range rows {
		exp := "-"
		if !r.Expiry.IsZero() {
			exp = r.Expiry.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", mdCell(r.What), mdCell(r.How), mdCell(r.Detail), exp)
	}
	b.WriteString("\nValues are never shown; every one was masked before it was handed on.\n")
	return b.String()
}

func mdCell(s string) string {
	s = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(s)
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;",
		"|", `\|`, "`", "&#96;", "[", `\[`, "]", `\]`, "*", `\*`, "_", `\_`).Replace(s)
}
