package inject

import (
	"fmt"
	"strings"
)

// Dotenv renders variables as a dotenv file that POSIX shells (`. FILE`) and dotenv parsers
// (godotenv, python-dotenv, `patinject run --env-file`) read alike: `export NAME='VALUE'`. Single
// quotes take a value as it is, line breaks included, with no expansion. A value that cannot be
// written so (it holds a single quote or a carriage return, or ends in a backslash, which dotenv
// parsers take as escaping the closing quote) is refused, naming the variable, never the value.
func Dotenv(vars []Var) ([]byte, error) {
	if err := checkVarNames(vars); err != nil {
		return nil, err
	}
	var b strings.Builder
	b.WriteString("# Written by patinject inject --platform local; removed by patinject cleanup.\n")
	for _, v := range vars {
		val := v.Value.Reveal()
		switch {
		case strings.Contains(val, "'"):
			return nil, fmt.Errorf("%s: the value holds a single quote, which a dotenv file cannot carry the same way for shells and dotenv parsers; use patinject run instead", v.Name)
		case strings.Contains(val, "\r"):
			return nil, fmt.Errorf("%s: the value holds a carriage return, which dotenv parsers drop; use patinject run instead", v.Name)
		case strings.HasSuffix(val, `\`):
			return nil, fmt.Errorf("%s: the value ends in a backslash, which dotenv parsers take as escaping the closing quote; use patinject run instead", v.Name)
		}
		fmt.Fprintf(&b, "export %s='%s'\n", v.Name, val)
	}
	return []byte(b.String()), nil
}
