package cleanup

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// The state file is what `inject` leaves for `cleanup`: what to undo (ids, paths, expiry; never
// a value). A build step that runs after `inject` can write it as easily as `inject` did, so
// nothing in it is trusted for what it says alone:
//
//   - It holds one sealed record per `inject`: the record's JSON and an HMAC-SHA256 of it under
//     a random 256-bit key that `inject` made for that record alone and handed to its own
//     `cleanup` through a channel later steps cannot write (GitHub Actions: the action's saved
//     state; Azure Pipelines: a secret task variable; --platform local: a 0600 file in the user's
//     state directory). A record whose MAC does not verify is refused; a record of another
//     key is left for the cleanup that holds it.
//   - The file must be a regular file owned by the user running cleanup, writable by no one else.
//   - Even a record that verifies names no endpoint that credentials go to (cleanup sends them
//     only where its flags, environment or defaults say; a record that disagrees is refused)
//     and no path that is removed on its word alone (see Places).

// StateVersion is the version of the state file's format; other versions are refused.
const StateVersion = 2

// maxStateSize bounds what is read of a state file.
const maxStateSize = 1 << 20

// Key is the secret that seals one record.
type Key struct{ b []byte }

// NewKey makes a random key.
func NewKey() (Key, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return Key{}, err
	}
	return Key{b}, nil
}

// ParseKey reads a key from its hex form (Key.Hex). The error never repeats s.
func ParseKey(s string) (Key, error) {
	b, err := hex.DecodeString(strings.TrimSpace(s))
	if err != nil || len(b) != 32 {
		return Key{}, errors.New("not a patinject state key (64 hex digits)")
	}
	return Key{b}, nil
}

// IsZero reports whether k is no key.
func (k Key) IsZero() bool { return len(k.b) == 0 }

// Hex is the key's text form: a secret, for the key channel only.
func (k Key) Hex() string { return hex.EncodeToString(k.b) }

// ID names the key without revealing it: the first 8 bytes of a hash of it, in hex.
func (k Key) ID() string {
	h := sha256.Sum256(append([]byte("patinject state key id\x00"), k.b...))
	return hex.EncodeToString(h[:8])
}

func (k Key) mac(kid string, body []byte) []byte {
	m := hmac.New(sha256.New, k.b)
	io.WriteString(m, "patinject state v2\x00"+kid+"\x00")
	m.Write(body)
	return m.Sum(nil)
}

// Record is what one `inject` left for `cleanup`.
type Record struct {
	Platform string    `json:"platform"`
	Created  time.Time `json:"created,omitzero"`
	Actions  []Action  `json:"actions"`
}

// sealed is a record as stored: its JSON (compact), the id of its key, and the MAC.
type sealed struct {
	KeyID string          `json:"kid"`
	Body  json.RawMessage `json:"body"`
	MAC   string          `json:"mac"`
}

type stateFile struct {
	Version int      `json:"version"`
	Records []sealed `json:"records"`
}

// State is a state file's content.
type State struct {
	records []sealed
}

// ErrForged is the error for a record that does not verify under its key.
var ErrForged = errors.New("the record does not match its seal: it was written or changed by someone without its key (a later build step?), so nothing in it is acted on")

// ParseState parses a state file. Its errors never repeat the content.
func ParseState(b []byte) (*State, error) {
	var probe struct {
		Version *int `json:"version"`
	}
	if err := json.Unmarshal(b, &probe); err != nil || probe.Version == nil {
		return nil, errors.New("not patinject's (not a JSON object with a version)")
	}
	if *probe.Version != StateVersion {
		return nil, fmt.Errorf("format version %d, this patinject reads %d (an unsealed state of an older patinject is not trusted; undo what it lists by hand, or with the cleanup of that version)", *probe.Version, StateVersion)
	}
	var f stateFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, errors.New("not patinject's (the records do not parse)")
	}
	seen := map[string]bool{}
	for _, r := range f.Records {
		if !validKeyID(r.KeyID) || len(r.Body) == 0 || len(r.MAC) != 64 {
			return nil, errors.New("not patinject's (a record without a key id, body or seal)")
		}
		if seen[r.KeyID] {
			return nil, errors.New("not patinject's (two records of one key)")
		}
		seen[r.KeyID] = true
	}
	return &State{records: f.Records}, nil
}

func validKeyID(s string) bool {
	if len(s) != 16 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// Marshal is the file's content.
func (s *State) Marshal() ([]byte, error) {
	f := stateFile{Version: StateVersion, Records: s.records}
	if f.Records == nil {
		f.Records = []sealed{}
	}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// Len is the number of records.
func (s *State) Len() int {
	if s == nil {
		return 0
	}
	return len(s.records)
}

// KeyIDs lists the ids of the records' keys, in file order.
func (s *State) KeyIDs() []string {
	if s == nil {
		return nil
	}
	var ids []string
	for _, r := range s.records {
		ids = append(ids, r.KeyID)
	}
	return ids
}

// Clone is a copy that can change without changing s.
func (s *State) Clone() *State {
	if s == nil {
		return &State{}
	}
	return &State{records: slices.Clone(s.records)}
}

// Seal stores r sealed under k, replacing the record of k if there is one.
func (s *State) Seal(k Key, r Record) error {
	if k.IsZero() {
		return errors.New("no key to seal the state with")
	}
	body, err := json.Marshal(r)
	if err != nil {
		return err
	}
	kid := k.ID()
	rec := sealed{KeyID: kid, Body: body, MAC: hex.EncodeToString(k.mac(kid, body))}
	for i := range s.records {
		if s.records[i].KeyID == kid {
			s.records[i] = rec
			return nil
		}
	}
	s.records = append(s.records, rec)
	return nil
}

// Open returns the record of k, verified. found is false when the state holds no record of k;
// the error is ErrForged when the record does not verify.
func (s *State) Open(k Key) (r Record, found bool, err error) {
	kid := k.ID()
	for _, rec := range s.records {
		if rec.KeyID != kid {
			continue
		}
		body, err := compact(rec.Body)
		if err != nil {
			return Record{}, true, ErrForged
		}
		want := k.mac(kid, body)
		got, err := hex.DecodeString(rec.MAC)
		if err != nil || !hmac.Equal(got, want) {
			return Record{}, true, ErrForged
		}
		r, err := decodeRecord(body)
		if err != nil {
			return Record{}, true, err
		}
		return r, true, nil
	}
	return Record{}, false, nil
}

// OpenUnverified returns the record of key id kid without checking its seal: for
// cleanup --trust-unverified-state only.
func (s *State) OpenUnverified(kid string) (Record, error) {
	for _, rec := range s.records {
		if rec.KeyID == kid {
			return decodeRecord(rec.Body)
		}
	}
	return Record{}, fmt.Errorf("no record %s", kid)
}

// Remove drops the record of key id kid.
func (s *State) Remove(kid string) {
	s.records = slices.DeleteFunc(s.records, func(r sealed) bool { return r.KeyID == kid })
}

func compact(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func decodeRecord(body []byte) (Record, error) {
	var r Record
	if err := json.Unmarshal(body, &r); err != nil {
		return Record{}, errors.New("a record does not parse")
	}
	return r, nil
}

// ReadState reads the state at path; a missing file is no state and no error. A file that is
// not a regular file owned by the current user, or that group or others can write, is refused.
// The errors name the path, never the content.
func ReadState(path string) (*State, error) {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("the state file %s: %w", path, err)
	}
	if err := checkPrivateFile(path, fi); err != nil {
		return nil, fmt.Errorf("the state file %s: %w; refused (a state another user or a link could have written is not trusted)", path, err)
	}
	f, err := os.OpenFile(path, os.O_RDONLY|oNoFollow, 0)
	if err != nil {
		return nil, fmt.Errorf("the state file %s: %w", path, err)
	}
	defer f.Close()
	// The file opened must be the file checked.
	if fi2, err := f.Stat(); err != nil || !os.SameFile(fi, fi2) {
		return nil, fmt.Errorf("the state file %s changed while it was read; refused", path)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxStateSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading the state file %s: %w", path, err)
	}
	if len(b) > maxStateSize {
		return nil, fmt.Errorf("the state file %s is larger than %d bytes: not patinject's", path, maxStateSize)
	}
	st, err := ParseState(b)
	if err != nil {
		return nil, fmt.Errorf("the state file %s is %w; remove it if nothing is left to undo", path, err)
	}
	return st, nil
}

// WriteState writes s to path, 0600, atomically, making the directory (0700) if needed.
func WriteState(path string, s *State) error {
	b, err := s.Marshal()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("writing the state file %s: %w", path, err)
	}
	if err := writeFileAtomic(path, b); err != nil {
		return fmt.Errorf("writing the state file %s: %w", path, err)
	}
	return nil
}

// writeFileAtomic writes b to a new 0600 file beside path, then renames it over path.
func writeFileAtomic(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
