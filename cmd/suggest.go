package cmd

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/urfave/cli/v2"
)

// A mistyped command or flag gets the nearest one suggested, among those the user can see.

// usageError adds the suggestion to urfave/cli's "flag provided but not defined".
func usageError(c *cli.Context, err error, _ bool) error {
	hint := "see patinject --help"
	if c != nil && c.Command != nil && c.Command.Name != "" {
		hint = "see patinject " + c.Command.Name + " --help"
	}
	if m := undefinedFlag.FindStringSubmatch(err.Error()); m != nil && c != nil && c.Command != nil {
		var names []string
		for _, f := range c.Command.Flags {
			if vf, ok := f.(cli.VisibleFlag); ok && !vf.IsVisible() {
				continue
			}
			names = append(names, f.Names()...)
		}
		if s := nearest(m[1], names); s != "" {
			return fmt.Errorf("%v; did you mean --%s? (%s)", err, s, hint)
		}
	}
	return fmt.Errorf("%v (%s)", err, hint)
}

var undefinedFlag = regexp.MustCompile(`flag provided but not defined: -+(\S+)`)

// commandNotFound says so, with the nearest visible command when there is one.
func (a *app) commandNotFound(c *cli.Context, name string) {
	a.notFound = true
	cmds := c.App.Commands
	if c.Command != nil && len(c.Command.Subcommands) > 0 {
		cmds = c.Command.Subcommands
	}
	var names []string
	for _, cmd := range cmds {
		if !cmd.Hidden {
			names = append(names, cmd.Names()...)
		}
	}
	msg := fmt.Sprintf("patinject: %q is not a command", name)
	if s := nearest(name, names); s != "" {
		msg += fmt.Sprintf("; did you mean %q?", s)
	}
	fmt.Fprintln(a.p.Stderr, msg+" (see patinject help)")
}

// nearest is the candidate within a small edit distance of typed, "" when none is close.
func nearest(typed string, candidates []string) string {
	best, bestD := "", 1+len(typed)/3
	if bestD < 2 {
		bestD = 2
	}
	for _, c := range candidates {
		d := distance(strings.ToLower(typed), strings.ToLower(c))
		if strings.HasPrefix(c, typed) && len(typed) >= 3 {
			d = 1
		}
		if d < bestD || (d == bestD && best == "") {
			best, bestD = c, d
		}
	}
	if bestD > 1+len(typed)/3 && bestD > 2 {
		return ""
	}
	return best
}

// distance is the Damerau-Levenshtein distance (optimal string alignment): a swap of two
// neighbours, the commonest typo, counts as one edit.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}
