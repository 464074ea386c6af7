package inject

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
)

// GitHub hands a Handover to GitHub Actions (protocols.md section 4): `::add-mask::` for every
// form on stdout first, then the variables into GITHUB_ENV, outputs into GITHUB_OUTPUT and a
// summary into GITHUB_STEP_SUMMARY. A nil writer skips its part.
type GitHub struct {
	Stdout  io.Writer // workflow commands: the runner reads them from the step's stdout
	Env     io.Writer // GITHUB_ENV, opened for appending
	Path    io.Writer // GITHUB_PATH: one directory a line, put first on PATH for later steps
	Output  io.Writer // GITHUB_OUTPUT
	Summary io.Writer // GITHUB_STEP_SUMMARY
	Title   string    // summary heading
	Rand    io.Reader // delimiter randomness; nil: crypto/rand
}

// gitHubBlocked are the variables the runner refuses to take from GITHUB_ENV.
var gitHubBlocked = map[string]bool{"NODE_OPTIONS": true}

// Emit renders everything first, so that a variable that cannot be handed over stops it before
// anything is printed or written, then masks, then writes the files.
func (g GitHub) Emit(h Handover) error {
	if err := checkVarNames(h.Vars); err != nil {
		return err
	}
	var env bytes.Buffer
	for _, v := range h.Vars {
		if gitHubBlocked[v.Name] {
			return fmt.Errorf("%s: the GitHub runner refuses to take %s from GITHUB_ENV; choose another name", v.Name, v.Name)
		}
		entry, err := GitHubFileEntry(v.Name, v.Value.Reveal(), g.Rand)
		if err != nil {
			return err
		}
		env.WriteString(entry)
	}
	var path bytes.Buffer
	for _, dir := range h.Path {
		if strings.ContainsAny(dir, "\r\n") {
			return fmt.Errorf("%q: a directory for PATH cannot hold a line break", dir)
		}
		path.WriteString(dir + "\n")
	}
	if len(h.Path) > 0 && g.Path == nil {
		return fmt.Errorf("GITHUB_PATH is not set, so the later steps' PATH cannot be extended")
	}
	var out bytes.Buffer
	for _, o := range h.Outputs {
		entry, err := GitHubFileEntry(o.Name, o.Value, g.Rand)
		if err != nil {
			return err
		}
		out.WriteString(entry)
	}

	if g.Stdout != nil {
		if _, err := io.WriteString(g.Stdout, GitHubMaskCommands(h.Masks)); err != nil {
			return fmt.Errorf("masking: %w", err)
		}
	}
	if err := writeAll(g.Env, env.Bytes(), "GITHUB_ENV"); err != nil {
		return err
	}
	if err := writeAll(g.Path, path.Bytes(), "GITHUB_PATH"); err != nil {
		return err
	}
	if err := writeAll(g.Output, out.Bytes(), "GITHUB_OUTPUT"); err != nil {
		return err
	}
	if g.Summary != nil {
		if err := writeAll(g.Summary, []byte(SummaryMarkdown(g.Title, h.Summary)), "GITHUB_STEP_SUMMARY"); err != nil {
			return err
		}
	}
	return nil
}

func writeAll(w io.Writer, b []byte, what string) error {
	if w == nil || len(b) == 0 {
		return nil
	}
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("writing %s: %w", what, err)
	}
	return nil
}

// GitHubMaskCommands is one `::add-mask::` line for each form and each line of a multi-line
// form. The runner masks a value from the moment it reads the command, in this step's output and
// every later step's.
func GitHubMaskCommands(masks []string) string {
	var b strings.Builder
	for _, m := range maskAtoms(masks, true) {
		b.WriteString("::add-mask::")
		b.WriteString(GitHubEscapeData(m))
		b.WriteByte('\n')
	}
	return b.String()
}

// GitHubEscapeData escapes the data part of a workflow command as the runner unescapes it
// (actions/toolkit escapeData): without it a line break in a value would end the command and
// start a new line that the runner reads as one.
func GitHubEscapeData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

// GitHubEscapeProperty escapes a property value of a workflow command.
func GitHubEscapeProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}

// GitHubCommand formats `::name k=v,...::data` with both parts escaped.
func GitHubCommand(name string, props [][2]string, data string) string {
	var b strings.Builder
	b.WriteString("::")
	b.WriteString(name)
	for i, p := range props {
		if i == 0 {
			b.WriteByte(' ')
		} else {
			b.WriteByte(',')
		}
		b.WriteString(p[0])
		b.WriteByte('=')
		b.WriteString(GitHubEscapeProperty(p[1]))
	}
	b.WriteString("::")
	b.WriteString(GitHubEscapeData(data))
	return b.String()
}

// GitHubDelimiterPrefix starts every heredoc delimiter, as in actions/toolkit.
const GitHubDelimiterPrefix = "ghadelimiter_"

// GitHubFileEntry formats one entry of GITHUB_ENV, GITHUB_OUTPUT or GITHUB_STATE:
// NAME<<DELIM, the value, DELIM, each on its own line. DELIM is fresh randomness (128 bits)
// drawn again until neither the name nor the value contains it, so a value cannot end the entry
// early and smuggle in variables of its own.
func GitHubFileEntry(name, value string, rnd io.Reader) (string, error) {
	if !isEnvName(name) && !isOutputName(name) {
		return "", fmt.Errorf("%q is not a valid name for a GitHub Actions environment file", name)
	}
	if rnd == nil {
		rnd = rand.Reader
	}
	for range 8 {
		var b [16]byte
		if _, err := io.ReadFull(rnd, b[:]); err != nil {
			return "", fmt.Errorf("drawing a delimiter: %w", err)
		}
		delim := GitHubDelimiterPrefix + hex.EncodeToString(b[:])
		if strings.Contains(name, delim) || strings.Contains(value, delim) {
			continue
		}
		return name + "<<" + delim + "\n" + value + "\n" + delim + "\n", nil
	}
	// Eight draws of 128 bits that all occur in the value: the randomness source is broken.
	return "", fmt.Errorf("%s: could not draw a delimiter that the value does not contain", name)
}

// isOutputName accepts the kebab-case names of outputs and state ("authorization-id").
func isOutputName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		switch {
		case c == '_', c == '-', c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		default:
			return false
		}
	}
	return true
}
