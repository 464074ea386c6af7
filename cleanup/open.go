package cleanup

import (
	"errors"
	"fmt"
)

// Opened is a record that a cleanup may act on.
type Opened struct {
	KeyID    string
	Key      Key // zero when not verified
	Record   Record
	Verified bool
}

// Opener chooses the records of a state that one cleanup may act on: on GitHub Actions and Azure
// Pipelines the one record sealed by the key of the platform's channel (other records belong to
// other injects' post steps); locally each record whose key file is in the user's state
// directory. With TrustUnverified, records whose key is missing or whose seal does not verify are
// acted on too (the endpoint and removal rules still hold).
type Opener struct {
	Platform        string // "github", "azure", "local"
	Lookup          func(string) (string, bool)
	TrustUnverified bool
}

// ErrNoKey is the error when no key was handed to this cleanup.
var ErrNoKey = errors.New("no key to check the state with")

// Open returns the records to act on, and a warning for each record it leaves alone.
func (o Opener) Open(st *State, statePath string) (opened []Opened, warnings []string, err error) {
	if st.Len() == 0 {
		return nil, nil, nil
	}
	how := "run cleanup from the post step of the action (or task) that ran inject, which gets the key; or, if no later step could have written " +
		statePath + ", add --trust-unverified-state (credentials still go only where cleanup's own flags say, and only patinject's own files are removed)"
	switch o.Platform {
	case "github", "azure":
		k, ok, err := KeyFromEnv(o.Platform, o.Lookup)
		if err != nil {
			return nil, nil, err
		}
		if !ok {
			if o.TrustUnverified {
				return o.all(st), nil, nil
			}
			return nil, nil, fmt.Errorf("%w: the key that proves inject wrote %s is not here (%s is not set); nothing was undone: %s",
				ErrNoKey, statePath, KeyChannel(o.Platform), how)
		}
		rec, found, err := st.Open(k)
		if !found {
			return nil, nil, nil // this inject's record was undone already
		}
		if err != nil {
			if o.TrustUnverified {
				rec, uerr := st.OpenUnverified(k.ID())
				if uerr != nil {
					return nil, nil, uerr
				}
				return []Opened{{KeyID: k.ID(), Record: rec}},
					[]string{fmt.Sprintf("the state file %s: %v; acted on all the same (--trust-unverified-state)", statePath, err)}, nil
			}
			return nil, nil, fmt.Errorf("the state file %s: %w; nothing was undone: %s", statePath, err, how)
		}
		return []Opened{{KeyID: k.ID(), Key: k, Record: rec, Verified: true}}, nil, nil
	}
	dir, derr := LocalKeyDir(o.Lookup)
	for _, kid := range st.KeyIDs() {
		var k Key
		var ok bool
		var err error
		if derr == nil {
			k, ok, err = ReadLocalKey(dir, kid)
		} else {
			err = derr
		}
		if err == nil && ok {
			rec, _, oerr := st.Open(k)
			if oerr == nil {
				opened = append(opened, Opened{KeyID: kid, Key: k, Record: rec, Verified: true})
				continue
			}
			err = oerr
		}
		if o.TrustUnverified {
			if rec, uerr := st.OpenUnverified(kid); uerr == nil {
				opened = append(opened, Opened{KeyID: kid, Record: rec})
			}
			continue
		}
		why := "its key file is not in " + dir
		if err != nil {
			why = err.Error()
		}
		warnings = append(warnings, fmt.Sprintf("the state file %s: a record (key %s) was left alone: %s; %s", statePath, kid, why, how))
	}
	return opened, warnings, nil
}

func (o Opener) all(st *State) []Opened {
	var out []Opened
	for _, kid := range st.KeyIDs() {
		if rec, err := st.OpenUnverified(kid); err == nil {
			out = append(out, Opened{KeyID: kid, Record: rec})
		}
	}
	return out
}
