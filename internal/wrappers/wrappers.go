// Package wrappers keeps the CI wrappers' input tables (action.yml and action/lib.js for GitHub
// Actions, task.json and tasks/patinject/common.js for Azure Pipelines) in step with the flags of
// `patinject inject`, from which they are derived. Sync rewrites only the flag-derived entries:
// an existing entry keeps its hand-written description, a new flag gets an entry made from its
// help, an entry whose flag is gone is dropped, and inputs that are not flags (the action's
// version, the task's systemAccessToken) are left as they are.
package wrappers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// Input is one flag-derived input (cmd.Inputs gives the list).
type Input struct {
	Flag, GitHub, Azure, Kind, Default, Usage, Category string
	AzureOnly                                           bool
	Post                                                bool // the post step's cleanup takes it too
}

// File is one wrapper file and how it is synced.
type File struct {
	Path string
	Sync func(content []byte, inputs []Input) ([]byte, error)
}

// Files are the wrapper files, relative to the repository root.
var Files = []File{
	{"action.yml", SyncActionYAML},
	{"action/lib.js", SyncJS(false)},
	{"tasks/patinject/task.json", SyncTaskJSON},
	{"tasks/patinject/common.js", SyncJS(true)},
}

var backquotes = strings.NewReplacer("`", "")

// description is a new input's help: the flag's usage as a sentence.
func description(in Input) string {
	u := backquotes.Replace(in.Usage)
	if u == "" {
		return in.Flag
	}
	u = strings.ToUpper(u[:1]) + u[1:]
	if in.Kind == "list" {
		u += " (one a line)"
	}
	return u + "."
}

// SyncJS rewrites the INPUTS and SOURCE_INPUTS tables of a wrapper's JavaScript: the rows of
// the flags the post step does not take, and of those it does.
func SyncJS(azure bool) func([]byte, []Input) ([]byte, error) {
	return func(content []byte, inputs []Input) ([]byte, error) {
		var main, post []string
		for _, in := range inputs {
			name := in.GitHub
			if azure {
				name = in.Azure
			} else if in.AzureOnly {
				continue
			}
			row := fmt.Sprintf("  ['%s', '%s', '%s'],", name, in.Flag, in.Kind)
			if in.Post {
				post = append(post, row)
			} else {
				main = append(main, row)
			}
		}
		out, err := replaceArray(content, "INPUTS", main)
		if err != nil {
			return nil, err
		}
		return replaceArray(out, "SOURCE_INPUTS", post)
	}
}

func replaceArray(content []byte, name string, rows []string) ([]byte, error) {
	re := regexp.MustCompile(`(?s)(\nconst ` + name + ` = \[\n).*?(\n\];)`)
	if !re.Match(content) {
		return nil, fmt.Errorf("no `const %s = [` table", name)
	}
	return re.ReplaceAllLiteral(content, []byte("\nconst "+name+" = [\n"+strings.Join(rows, "\n")+"\n];")), nil
}

// SyncActionYAML rewrites the flag-derived entries of action.yml's inputs, line-wise so that the
// rest of the file, comments included, stays as it is.
func SyncActionYAML(content []byte, inputs []Input) ([]byte, error) {
	s := string(content)
	start := strings.Index(s, "\ninputs:\n")
	if start < 0 {
		return nil, fmt.Errorf("no inputs: section")
	}
	start += len("\ninputs:\n")
	end := start
	for end < len(s) {
		nl := strings.IndexByte(s[end:], '\n')
		if nl < 0 {
			nl = len(s) - end - 1
		}
		line := s[end : end+nl+1]
		if line != "\n" && !strings.HasPrefix(line, " ") && !strings.HasPrefix(line, "#") {
			break
		}
		end += nl + 1
	}
	// Split the section into one chunk per input: a line "  name:" and the lines below it.
	var order []string
	chunks := map[string]string{}
	for _, line := range strings.SplitAfter(s[start:end], "\n") {
		if m := yamlKey.FindStringSubmatch(line); m != nil {
			order = append(order, m[1])
		}
		if len(order) > 0 {
			chunks[order[len(order)-1]] += line
		}
	}
	var b strings.Builder
	flagged := map[string]bool{}
	for _, in := range inputs {
		if in.AzureOnly {
			continue
		}
		flagged[in.GitHub] = true
		if c, ok := chunks[in.GitHub]; ok {
			b.WriteString(c)
			continue
		}
		fmt.Fprintf(&b, "  %s:\n    description: %s\n    required: false\n", in.GitHub, yamlScalar(description(in)))
		if in.Default != "" {
			fmt.Fprintf(&b, "    default: %s\n", yamlScalar(in.Default))
		}
	}
	// Inputs that are not flags (a wrapper's own) follow, as they were.
	for _, name := range order {
		if !flagged[name] {
			b.WriteString(chunks[name])
		}
	}
	return []byte(s[:start] + b.String() + s[end:]), nil
}

var yamlKey = regexp.MustCompile(`^  ([A-Za-z0-9_-]+):\s*$`)

func yamlScalar(s string) string {
	if s == "true" || s == "false" || strings.ContainsAny(s, ":#'\"{}[]&*!|>%@`") || strings.HasPrefix(s, "-") {
		b, _ := json.Marshal(s)
		return string(b)
	}
	return s
}

// SyncTaskJSON rewrites the flag-derived entries of task.json's inputs array, leaving the rest
// of the file as it is written.
func SyncTaskJSON(content []byte, inputs []Input) ([]byte, error) {
	s := string(content)
	key := strings.Index(s, `"inputs": [`)
	if key < 0 {
		return nil, fmt.Errorf(`no "inputs": [ array`)
	}
	open := key + len(`"inputs": `)
	close, err := matchingBracket(s, open)
	if err != nil {
		return nil, err
	}
	var old []json.RawMessage
	if err := json.Unmarshal([]byte(s[open:close+1]), &old); err != nil {
		return nil, err
	}
	byName := map[string]json.RawMessage{}
	var order []string
	for _, raw := range old {
		var in struct{ Name string }
		if err := json.Unmarshal(raw, &in); err != nil {
			return nil, err
		}
		byName[in.Name] = raw
		order = append(order, in.Name)
	}
	var out []json.RawMessage
	flagged := map[string]bool{}
	for _, in := range inputs {
		flagged[in.Azure] = true
		if raw, ok := byName[in.Azure]; ok {
			out = append(out, raw)
			continue
		}
		var raw bytes.Buffer
		enc := json.NewEncoder(&raw)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(taskInput(in)); err != nil {
			return nil, err
		}
		out = append(out, json.RawMessage(bytes.TrimSpace(raw.Bytes())))
	}
	// Inputs that are not flags (the task's own) follow, as they were.
	for _, name := range order {
		if !flagged[name] {
			out = append(out, byName[name])
		}
	}
	indent := "  "
	lineStart := strings.LastIndexByte(s[:key], '\n') + 1
	prefix := s[lineStart:key]
	var arr, b bytes.Buffer
	enc := json.NewEncoder(&arr)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		return nil, err
	}
	if err := json.Indent(&b, bytes.TrimSpace(arr.Bytes()), prefix, indent); err != nil {
		return nil, err
	}
	return []byte(s[:open] + b.String() + s[close+1:]), nil
}

// taskInput is a new task.json input made from a flag.
func taskInput(in Input) map[string]any {
	typ := map[string]string{"scalar": "string", "list": "multiLine", "bool": "boolean"}[in.Kind]
	group := map[string]string{"Tools": "tools", "Azure DevOps": "ado", "Vault": "vault"}[in.Category]
	if group == "" {
		group = "advanced"
	}
	m := map[string]any{
		"name": in.Azure, "label": label(in.Flag), "type": typ, "required": false,
		"helpMarkDown": description(in), "groupName": group,
	}
	if in.Default != "" {
		m["defaultValue"] = in.Default
	}
	if typ == "multiLine" {
		m["properties"] = map[string]any{"resizable": true, "rows": "3"}
	}
	return m
}

func label(flag string) string {
	parts := strings.Split(flag, "-")
	for i, p := range parts {
		if i == 0 {
			parts[i] = strings.ToUpper(p[:1]) + p[1:]
		}
	}
	return strings.Join(parts, " ")
}

func matchingBracket(s string, open int) (int, error) {
	depth, inString, escaped := 0, false, false
	for i := open; i < len(s); i++ {
		c := s[i]
		switch {
		case escaped:
			escaped = false
		case inString && c == '\\':
			escaped = true
		case c == '"':
			inString = !inString
		case inString:
		case c == '[' || c == '{':
			depth++
		case c == ']' || c == '}':
			depth--
			if depth == 0 {
				return i, nil
			}
		}
	}
	return 0, fmt.Errorf("unbalanced inputs array")
}
