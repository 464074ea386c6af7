package adotest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Spec is the published OpenAPI 2.0 description of the Tokens API (specs/ado-tokens-7.1.json),
// with a validator for the subset of JSON schema it uses.
type Spec struct {
	Dir string
	doc map[string]any
}

// SpecsDir finds the shared specs: $PATINJECT_SPECS_DIR, else shared/specs beside the repository
// (CI clones the repository with shared/ next to it). Without them the
// test fails under CI=true and skips elsewhere.
func SpecsDir(tb testing.TB) string {
	tb.Helper()
	var tried []string
	try := func(dir string) bool {
		tried = append(tried, dir)
		_, err := os.Stat(filepath.Join(dir, "ado-tokens-7.1.json"))
		return err == nil
	}
	if d := os.Getenv("PATINJECT_SPECS_DIR"); d != "" && try(d) {
		return d
	}
	if wd, err := os.Getwd(); err == nil {
		for dir := wd; ; dir = filepath.Dir(dir) {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				if d := filepath.Join(filepath.Dir(dir), "shared", "specs"); try(d) {
					return d
				}
				break
			}
			if filepath.Dir(dir) == dir {
				break
			}
		}
	}
	why := "the Azure DevOps specs are not found (tried " + strings.Join(tried, ", ") + ")"
	if os.Getenv("CI") == "true" {
		tb.Fatalf("%s", why)
	}
	tb.Skipf("SKIPPED: %s", why)
	return ""
}

// ReadSpecFile reads a file of the specs directory, without the UTF-8 BOM some start with.
func ReadSpecFile(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(SpecsDir(tb), name))
	if err != nil {
		tb.Fatal(err)
	}
	return bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
}

// LoadSpec loads ado-tokens-7.1.json.
func LoadSpec(tb testing.TB) *Spec {
	tb.Helper()
	s := &Spec{Dir: SpecsDir(tb)}
	if err := json.Unmarshal(ReadSpecFile(tb, "ado-tokens-7.1.json"), &s.doc); err != nil {
		tb.Fatalf("ado-tokens-7.1.json: %v", err)
	}
	return s
}

// Example is the recorded example NAME (CreatePat, GetPat, ListPats, RevokePat, UpdatePat).
type Example struct {
	Method     string
	URL        string
	Parameters map[string]json.RawMessage
	Status     int
	Body       json.RawMessage
}

// LoadExample reads ado-tokens-7.1-example-NAME.json.
func LoadExample(tb testing.TB, name string) Example {
	tb.Helper()
	var raw struct {
		Method     string                     `json:"x-ms-vss-request-method"`
		URL        string                     `json:"x-ms-vss-request-url"`
		Parameters map[string]json.RawMessage `json:"parameters"`
		Responses  map[string]struct {
			Body json.RawMessage `json:"body"`
		} `json:"responses"`
	}
	if err := json.Unmarshal(ReadSpecFile(tb, "ado-tokens-7.1-example-"+name+".json"), &raw); err != nil {
		tb.Fatalf("example %s: %v", name, err)
	}
	ex := Example{Method: raw.Method, URL: raw.URL, Parameters: raw.Parameters}
	for code, r := range raw.Responses {
		fmt.Sscanf(code, "%d", &ex.Status)
		ex.Body = r.Body
	}
	return ex
}

// Enum returns the enum of a property of a definition ("PatTokenResult", "patTokenError").
func (s *Spec) Enum(def, prop string) []string {
	d, _ := s.definition(def)
	props, _ := d["properties"].(map[string]any)
	p, _ := props[prop].(map[string]any)
	var out []string
	for _, v := range asSlice(p["enum"]) {
		out = append(out, fmt.Sprint(v))
	}
	return out
}

func (s *Spec) definition(name string) (map[string]any, bool) {
	defs, _ := s.doc["definitions"].(map[string]any)
	d, ok := defs[name].(map[string]any)
	return d, ok
}

// Validate checks JSON data against a definition. Properties the definition does not name are
// errors (the service sends none, and a client must not either); null is accepted anywhere, as
// the service writes absent values as null (token, targetAccounts).
func (s *Spec) Validate(def string, data []byte) error {
	var v any
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		return fmt.Errorf("%s: not JSON: %v", def, err)
	}
	return s.validate(map[string]any{"$ref": "#/definitions/" + def}, v, def)
}

var (
	specUUID = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
)

func (s *Spec) resolve(schema map[string]any) (map[string]any, error) {
	for i := 0; i < 10; i++ {
		ref, ok := schema["$ref"].(string)
		if !ok {
			return schema, nil
		}
		name, ok := strings.CutPrefix(ref, "#/definitions/")
		if !ok {
			return nil, fmt.Errorf("unsupported $ref %s", ref)
		}
		d, ok := s.definition(name)
		if !ok {
			return nil, fmt.Errorf("no definition %s", name)
		}
		schema = d
	}
	return nil, fmt.Errorf("$ref loop")
}

// properties collects the properties of schema and of its allOf parts.
func (s *Spec) properties(schema map[string]any) (map[string]any, error) {
	out := map[string]any{}
	for _, part := range asSlice(schema["allOf"]) {
		ps, _ := part.(map[string]any)
		r, err := s.resolve(ps)
		if err != nil {
			return nil, err
		}
		sub, err := s.properties(r)
		if err != nil {
			return nil, err
		}
		for k, v := range sub {
			out[k] = v
		}
	}
	props, _ := schema["properties"].(map[string]any)
	for k, v := range props {
		out[k] = v
	}
	return out, nil
}

func (s *Spec) validate(schema map[string]any, v any, path string) error {
	schema, err := s.resolve(schema)
	if err != nil {
		return fmt.Errorf("%s: %v", path, err)
	}
	if v == nil {
		return nil
	}
	if enum := asSlice(schema["enum"]); enum != nil {
		str, ok := v.(string)
		if !ok {
			return fmt.Errorf("%s: want one of the enum, got %T", path, v)
		}
		found := false
		for _, e := range enum {
			found = found || e == str
		}
		if !found {
			return fmt.Errorf("%s: %q is not in the enum", path, str)
		}
	}
	typ, _ := schema["type"].(string)
	if typ == "" && (schema["properties"] != nil || schema["allOf"] != nil) {
		typ = "object"
	}
	switch typ {
	case "object":
		obj, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: want an object, got %T", path, v)
		}
		props, err := s.properties(schema)
		if err != nil {
			return err
		}
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			ps, ok := props[k].(map[string]any)
			if !ok {
				if ap, ok := schema["additionalProperties"].(map[string]any); ok {
					if err := s.validate(ap, obj[k], path+"."+k); err != nil {
						return err
					}
					continue
				}
				return fmt.Errorf("%s: property %q is not in the spec", path, k)
			}
			if err := s.validate(ps, obj[k], path+"."+k); err != nil {
				return err
			}
		}
	case "array":
		arr, ok := v.([]any)
		if !ok {
			return fmt.Errorf("%s: want an array, got %T", path, v)
		}
		items, _ := schema["items"].(map[string]any)
		for i, e := range arr {
			if err := s.validate(items, e, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	case "string":
		str, ok := v.(string)
		if !ok {
			return fmt.Errorf("%s: want a string, got %T", path, v)
		}
		if err := checkFormat(schema["format"], str); err != nil {
			return fmt.Errorf("%s: %v", path, err)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return fmt.Errorf("%s: want a boolean, got %T", path, v)
		}
	case "integer":
		n, ok := v.(json.Number)
		if _, err := n.Int64(); !ok || err != nil {
			return fmt.Errorf("%s: want an integer, got %v", path, v)
		}
	}
	return nil
}

func checkFormat(format any, s string) error {
	switch format {
	case "uuid":
		if !specUUID.MatchString(s) {
			return fmt.Errorf("%q is not a uuid", s)
		}
	case "date-time":
		if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
			return fmt.Errorf("%q is not an RFC 3339 date-time", s)
		}
	}
	return nil
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

// operation finds the spec's operation for an exchange of op.
func (s *Spec) operation(op Op) (map[string]any, error) {
	paths, _ := s.doc["paths"].(map[string]any)
	xpaths, _ := s.doc["x-ms-paths"].(map[string]any)
	pats, _ := paths["/{organization}/_apis/tokens/pats"].(map[string]any)
	xpats, _ := xpaths["/{organization}/_apis/tokens/pats?"].(map[string]any)
	var o any
	switch op {
	case OpCreate:
		o = pats["post"]
	case OpGet:
		o = pats["get"]
	case OpRevoke:
		o = pats["delete"]
	case OpUpdate:
		o = pats["put"]
	case OpList:
		o = xpats["get"]
	}
	m, ok := o.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("no operation for %s in the spec", op)
	}
	return m, nil
}

// CheckRequest checks a request of the token API against the spec: the query parameters (each
// known, required ones present, enums and formats kept, api-version the spec's own), and the body.
func (s *Spec) CheckRequest(e Exchange) error {
	o, err := s.operation(e.Op)
	if err != nil {
		return err
	}
	q, err := url.ParseQuery(e.Query)
	if err != nil {
		return fmt.Errorf("%s: query: %v", e.Op, err)
	}
	known := map[string]bool{}
	for _, p := range asSlice(o["parameters"]) {
		pm, _ := p.(map[string]any)
		if ref, ok := pm["$ref"].(string); ok {
			name, _ := strings.CutPrefix(ref, "#/parameters/")
			params, _ := s.doc["parameters"].(map[string]any)
			pm, _ = params[name].(map[string]any)
		}
		name, _ := pm["name"].(string)
		switch pm["in"] {
		case "query":
			known[name] = true
			v, has := q[name]
			if req, _ := pm["required"].(bool); req && !has {
				return fmt.Errorf("%s: query parameter %s is required", e.Op, name)
			}
			if !has {
				continue
			}
			if name == "api-version" && v[0] != "7.1-preview.1" {
				return fmt.Errorf("%s: api-version %q, the spec says 7.1-preview.1", e.Op, v[0])
			}
			switch pm["type"] {
			case "integer":
				if _, err := strconv.Atoi(v[0]); err != nil {
					return fmt.Errorf("%s: %s=%q is not an integer", e.Op, name, v[0])
				}
			case "boolean":
				if _, err := strconv.ParseBool(v[0]); err != nil {
					return fmt.Errorf("%s: %s=%q is not a boolean", e.Op, name, v[0])
				}
			default:
				if err := s.validate(pm, v[0], e.Op.String()+"?"+name); err != nil {
					return err
				}
			}
		case "body":
			schema, _ := pm["schema"].(map[string]any)
			ref, _ := schema["$ref"].(string)
			def, _ := strings.CutPrefix(ref, "#/definitions/")
			if err := s.Validate(def, e.RequestBody); err != nil {
				return fmt.Errorf("%s: body: %v", e.Op, err)
			}
		}
	}
	for k := range q {
		if !known[k] {
			return fmt.Errorf("%s: query parameter %s is not in the spec", e.Op, k)
		}
	}
	if e.AuthScheme != "Bearer" {
		return fmt.Errorf("%s: authorization %q, want Bearer", e.Op, e.AuthScheme)
	}
	return nil
}

// CheckResponse checks a 2xx answer of the token API against the spec's response schema (or,
// for revoke, that it is empty, as the recorded example is).
func (s *Spec) CheckResponse(e Exchange) error {
	if e.Status < 200 || e.Status > 299 {
		return nil
	}
	o, err := s.operation(e.Op)
	if err != nil {
		return err
	}
	responses, _ := o["responses"].(map[string]any)
	r, _ := responses["200"].(map[string]any)
	schema, ok := r["schema"].(map[string]any)
	if !ok {
		if len(bytes.TrimSpace(e.ResponseBody)) != 0 {
			return fmt.Errorf("%s: the spec gives no body, got %d bytes", e.Op, len(e.ResponseBody))
		}
		return nil
	}
	ref, _ := schema["$ref"].(string)
	def, _ := strings.CutPrefix(ref, "#/definitions/")
	return s.Validate(def, e.ResponseBody)
}

func (o Op) String() string { return string(o) }
