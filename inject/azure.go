package inject

import (
	"fmt"
	"io"
	"strings"

	"github.com/patinject/patinject/internal/privdir"
)

// Azure hands a Handover to Azure Pipelines (Services and Azure DevOps Server; protocols.md
// section 3) as logging commands on stdout: `task.setsecret` for every form first (the agent
// masks no base64 form by itself), then `task.setvariable` for the variables (issecret=true for
// secrets) and the outputs (isoutput=true).
//
// Secret variables do not reach the environment of later script steps: a step maps them with
// `env: NAME: $(NAME)`. Tool configuration is written to files that plain variables point at, so
// git, npm and NuGet need no mapping.
type Azure struct {
	Stdout io.Writer
	// SummaryFile, when set, is a file that Emit writes the summary to (Markdown, no values),
	// attached to the run with task.uploadsummary.
	SummaryFile string
	// PercentsNotDecoded is set when the job turned the agent's DECODE_PERCENTS knob off: '%'
	// then goes out as it is, and a value holding an escape sequence (%0A, %3B, ...) that the
	// agent would decode is refused.
	PercentsNotDecoded bool
}

// MultilineSecretError is a secret variable whose value has several lines: the agent refuses it
// ("Secrets cannot contain multiple lines") and could not mask it line by line.
type MultilineSecretError struct{ Name string }

func (e *MultilineSecretError) Error() string {
	return fmt.Sprintf("%s: the value has several lines, and Azure Pipelines refuses a multi-line secret variable "+
		"(it could not mask it); hand it over as a file instead with --as-file %s, which sets %s to the path of a 0600 file",
		e.Name, e.Name, e.Name)
}

// Emit renders every command first, so that a variable that cannot be handed over stops it
// before anything is printed, then writes them in one piece, masks first.
func (a Azure) Emit(h Handover) error {
	if err := checkVarNames(h.Vars); err != nil {
		return err
	}
	cmd := AzureCommand
	if a.PercentsNotDecoded {
		cmd = azureCommandRawPercent
	}
	var b strings.Builder
	for _, m := range maskAtoms(h.Masks, false) {
		if a.PercentsNotDecoded && hasAzureEscape(m) {
			return fmt.Errorf("a secret holds a sequence such as %%0A that the agent decodes, and DECODE_PERCENTS=false keeps patinject from escaping it: drop that setting from the job")
		}
		b.WriteString(cmd("task.setsecret", nil, m))
		b.WriteByte('\n')
	}
	for _, v := range h.Vars {
		val := v.Value.Reveal()
		props := [][2]string{{"variable", v.Name}}
		if v.Secret {
			if strings.ContainsAny(val, "\r\n") {
				return &MultilineSecretError{Name: v.Name}
			}
			props = append(props, [2]string{"issecret", "true"})
		}
		if a.PercentsNotDecoded && hasAzureEscape(val) {
			return fmt.Errorf("%s: the value holds a sequence such as %%0A that the agent decodes, and DECODE_PERCENTS=false keeps patinject from escaping it: drop that setting from the job", v.Name)
		}
		b.WriteString(cmd("task.setvariable", props, val))
		b.WriteByte('\n')
	}
	for _, dir := range h.Path {
		if strings.ContainsAny(dir, "\r\n") {
			return fmt.Errorf("%q: a directory for PATH cannot hold a line break", dir)
		}
		b.WriteString(cmd("task.prependpath", nil, dir))
		b.WriteByte('\n')
	}
	for _, o := range h.Outputs {
		b.WriteString(cmd("task.setvariable", [][2]string{{"variable", AzureOutputName(o.Name)}, {"isoutput", "true"}}, o.Value))
		b.WriteByte('\n')
	}
	if a.SummaryFile != "" {
		if err := privdir.WriteNew(a.SummaryFile, []byte(SummaryMarkdown("patinject", h.Summary))); err != nil {
			return fmt.Errorf("writing the summary: %w", err)
		}
		b.WriteString(cmd("task.uploadsummary", nil, a.SummaryFile))
		b.WriteByte('\n')
	}
	if a.Stdout == nil {
		return nil
	}
	if _, err := io.WriteString(a.Stdout, b.String()); err != nil {
		return fmt.Errorf("writing logging commands: %w", err)
	}
	return nil
}

// AzureOutputName turns a kebab-case output name into the task's camelCase ("authorization-id"
// becomes "authorizationId").
func AzureOutputName(s string) string {
	parts := strings.Split(s, "-")
	for i := 1; i < len(parts); i++ {
		if parts[i] != "" {
			parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
		}
	}
	return strings.Join(parts, "")
}

// AzureEscapeData escapes the message of a logging command as task-lib's escapedata does and the
// agent unescapes it: '%' as %AZP25, CR as %0D, LF as %0A. A line break in a value would otherwise
// end the command, and the next line could be a command of its own.
func AzureEscapeData(s string) string {
	return strings.NewReplacer("%", "%AZP25", "\r", "%0D", "\n", "%0A").Replace(s)
}

// AzureEscapeProperty escapes a property value: also ';' (%3B), which separates properties, and
// ']' (%5D), which ends them.
func AzureEscapeProperty(s string) string {
	return strings.NewReplacer("%", "%AZP25", "\r", "%0D", "\n", "%0A", "]", "%5D", ";", "%3B").Replace(s)
}

// hasAzureEscape reports whether s holds a sequence the agent decodes.
func hasAzureEscape(s string) bool {
	for _, e := range []string{"%AZP25", "%0D", "%0A", "%5D", "%3B"} {
		if strings.Contains(s, e) {
			return true
		}
	}
	return false
}

// azureCommandRawPercent is AzureCommand for an agent that does not decode %AZP25.
func azureCommandRawPercent(name string, props [][2]string, data string) string {
	return strings.ReplaceAll(AzureCommand(name, props, data), "%AZP25", "%")
}

// AzureCommand formats `##vso[area.action k=v;...]data`, escaped.
func AzureCommand(name string, props [][2]string, data string) string {
	var b strings.Builder
	b.WriteString("##vso[")
	b.WriteString(name)
	for i, p := range props {
		if i == 0 {
			b.WriteByte(' ')
		}
		b.WriteString(p[0])
		b.WriteByte('=')
		b.WriteString(AzureEscapeProperty(p[1]))
		b.WriteByte(';')
	}
	b.WriteByte(']')
	b.WriteString(AzureEscapeData(data))
	return b.String()
}
