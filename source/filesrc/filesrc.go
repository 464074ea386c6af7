// Package filesrc is the file: source: a secret read from a file, one trailing newline removed.
package filesrc

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/patinject/patinject/resolve"
	"github.com/patinject/patinject/secret"
)

// Source resolves file:PATH.
type Source struct{}

var _ resolve.Source = Source{}

func (Source) Resolve(_ context.Context, ref secret.Ref) (resolve.Resolved, error) {
	b, err := os.ReadFile(ref.Opaque)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return resolve.Resolved{}, fmt.Errorf("file %s does not exist", ref.Opaque)
	case errors.Is(err, fs.ErrPermission):
		return resolve.Resolved{}, fmt.Errorf("file %s is not readable by this user", ref.Opaque)
	case err != nil:
		// PathError text names the path and the cause; it holds no content.
		return resolve.Resolved{}, err
	}
	v := string(b)
	if strings.HasSuffix(v, "\r\n") {
		v = v[:len(v)-2]
	} else {
		v = strings.TrimSuffix(v, "\n")
	}
	if v == "" {
		return resolve.Resolved{}, fmt.Errorf("file %s is empty", ref.Opaque)
	}
	return resolve.Resolved{Value: secret.NewValue(v)}, nil
}

// Provider registers the file: scheme.
var Provider = resolve.Provider{
	Scheme: "file",
	New:    func(resolve.Env) resolve.Source { return Source{} },
	Describe: func(_ resolve.Env, ref secret.Ref) (resolve.Description, error) {
		return resolve.Description{Action: "read", What: "the file " + ref.Opaque}, nil
	},
}
