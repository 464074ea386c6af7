package cleanup

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/patinject/patinject/internal/platform"
)

// The key channels: how `inject` hands the key of its record to its own `cleanup`, through the
// CI platform, where no later step of the job can write it.
const (
	// GitHubStateName is what `inject` (run inside the action's main step) appends to the file
	// named by GITHUB_STATE; the runner hands it to the post step of the same action, and to no
	// other step, as the variable GitHubStateEnv. The runner sets the STATE_ variables after
	// the job's environment (GITHUB_ENV included), so a later step cannot override it.
	GitHubStateName = "statekey"
	GitHubStateEnv  = "STATE_" + GitHubStateName

	// AzureTaskVariable is the secret task variable `inject` sets with
	// ##vso[task.settaskvariable variable=PATINJECT_STATE_KEY;issecret=true]; the agent keeps
	// task variables per task instance and gives them to that task's post-job step only, as
	// AzureTaskVariableEnv, added after the job's variables so that none can shadow it.
	AzureTaskVariable    = "PATINJECT_STATE_KEY"
	AzureTaskVariableEnv = "VSTS_TASKVARIABLE_" + AzureTaskVariable
)

// KeyFromEnv reads the key of the platform's channel ("github" or "azure"). ok is false when
// the variable is not set; an error when it is set but holds no key.
func KeyFromEnv(platform string, lookup func(string) (string, bool)) (k Key, ok bool, err error) {
	var name string
	switch platform {
	case "github":
		name = GitHubStateEnv
	case "azure":
		name = AzureTaskVariableEnv
	default:
		return Key{}, false, nil
	}
	v, set := lookup(name)
	if !set || v == "" {
		return Key{}, false, nil
	}
	k, err = ParseKey(v)
	if err != nil {
		return Key{}, true, fmt.Errorf("%s: %w", name, err)
	}
	return k, true, nil
}

// KeyChannel names the channel of a platform, for messages.
func KeyChannel(platform string) string {
	switch platform {
	case "github":
		return GitHubStateEnv + " (the action's saved state, which only its post step sees)"
	case "azure":
		return AzureTaskVariableEnv + " (a secret task variable, which only the task's post-job step sees)"
	}
	return "a key file in the user's state directory"
}

// LocalKeyDir is where --platform local keeps the keys: the keys directory of the user's state
// directory (platform.StateDir).
func LocalKeyDir(lookup func(string) (string, bool)) (string, error) {
	if d := platform.StateDir(platform.GOOS, lookup); d != "" {
		return filepath.Join(d, "keys"), nil
	}
	return "", errors.New("no place for the state key: set HOME or XDG_STATE_HOME (LOCALAPPDATA on Windows)")
}

func localKeyPath(dir, kid string) string { return filepath.Join(dir, kid+".key") }

// WriteLocalKey writes k to a new 0600 file in dir (made 0700 if needed) and returns its path.
func WriteLocalKey(dir string, k Key) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("writing the state key: %w", err)
	}
	path := localKeyPath(dir, k.ID())
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|oNoFollow, 0o600)
	if err != nil {
		return "", fmt.Errorf("writing the state key: %w", err)
	}
	if _, err := io.WriteString(f, k.Hex()+"\n"); err != nil {
		f.Close()
		os.Remove(path)
		return "", fmt.Errorf("writing the state key: %w", err)
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return "", fmt.Errorf("writing the state key: %w", err)
	}
	return path, nil
}

// ReadLocalKey reads the key of id kid from dir: a regular 0600 file owned by this user. ok is
// false when there is none.
func ReadLocalKey(dir, kid string) (k Key, ok bool, err error) {
	if !validKeyID(kid) {
		return Key{}, false, errors.New("not a key id")
	}
	path := localKeyPath(dir, kid)
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Key{}, false, nil
	}
	if err != nil {
		return Key{}, false, err
	}
	if err := checkPrivateFile(path, fi); err != nil {
		return Key{}, true, fmt.Errorf("the state key %s: %w", path, err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return Key{}, true, fmt.Errorf("the state key %s: readable by group or others (mode %04o)", path, fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return Key{}, true, err
	}
	k, err = ParseKey(string(b))
	if err != nil {
		return Key{}, true, fmt.Errorf("the state key %s: %w", path, err)
	}
	if k.ID() != kid {
		return Key{}, true, fmt.Errorf("the state key %s is not the key of its name", path)
	}
	return k, true, nil
}

// RemoveLocalKey removes the key file of kid, if there is one.
func RemoveLocalKey(dir, kid string) error {
	if !validKeyID(kid) {
		return nil
	}
	if err := os.Remove(localKeyPath(dir, kid)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
