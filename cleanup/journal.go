package cleanup

import (
	"bufio"
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
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/patinject/patinject/internal/privdir"
)

// The journal makes the credential lifecycle crash-safe. Before a source mints or leases, it
// writes what it is about to create (kind, where, the unique tag it will carry; never a value)
// and syncs it to disk; then the id once it is known; then that it was taken back. A patinject
// killed on the way (SIGKILL, an OOM kill, a lost machine) leaves a journal whose open entries
// `patinject cleanup --orphans`, and the start of every later run, take back: by id where the
// journal has it, otherwise by what it was to carry (a PAT's display-name tag).
//
// A journal lies in a directory a later build step can write (the job's temporary directory, the
// user's state directory), so its word is not trusted alone. A file that is not a regular file
// of this user, writable by no one else, is not read. `inject` seals each line with the key it
// hands to its own post step (Journal.Seal, HMAC-SHA256 under the state's key, in a domain of
// its own), before it mints anything: that post step acts only on lines sealed with its key.
// Lines nobody sealed (a `run`, which has no post step to hand a key to) or whose key this
// process does not hold come back as Action.Unsealed, and an undoer confirms with the service
// that the thing is patinject's before it takes it back (an Azure DevOps PAT: its display name
// carries the tag the journal names).
//
// Each process writes a file of its own, patinject-journal-<pid>-<random>.jsonl, made only when
// the first entry is written and removed once every entry is closed, so that a run that mints
// nothing, or ends well, leaves no journal. A file whose process still lives is not an orphan.

// JournalPrefix and JournalSuffix frame a journal file's name.
const (
	JournalPrefix = "patinject-journal-"
	JournalSuffix = ".jsonl"
)

// record is one line of a journal.
type record struct {
	Op     string            `json:"op"` // "begin", "created", "done"
	Seq    int               `json:"seq"`
	Kind   string            `json:"kind,omitempty"`
	ID     string            `json:"id,omitempty"`
	Params map[string]string `json:"params,omitempty"`
	Expiry time.Time         `json:"expiry,omitzero"`
	PID    int               `json:"pid,omitempty"`
	Start  string            `json:"start,omitempty"` // when that process started (ProcessStart)
	Time   time.Time         `json:"time,omitzero"`
	KeyID  string            `json:"kid,omitempty"` // a sealed line: the id of its key; the MAC follows, last
}

// macField frames the MAC at the end of a sealed line: {...,"mac":"<64 hex digits>"}.
const macField = `,"mac":"`

// journalMAC is the MAC of one journal line's body (the line without its MAC), in a domain
// apart from the state's records.
func (k Key) journalMAC(body []byte) []byte {
	m := hmac.New(sha256.New, k.b)
	io.WriteString(m, "patinject journal v1\x00")
	m.Write(body)
	return m.Sum(nil)
}

// seal appends the MAC of line (a JSON object) under k.
func (k Key) seal(line []byte) []byte {
	mac := hex.EncodeToString(k.journalMAC(line))
	return append(append(append(line[:len(line)-1:len(line)-1], macField...), mac...), '"', '}')
}

// lineSeal is what the MAC of one line says: "" for a line nobody sealed, else the id of the
// key it names, with verified true only when that key is one of keys and the MAC matches. A
// line that names a held key but does not match is forged: ok is false.
func lineSeal(line []byte, kid string, keys map[string]Key) (seal string, verified, ok bool) {
	i := bytes.LastIndex(line, []byte(macField))
	if i < 0 || kid == "" {
		return "", false, kid == ""
	}
	mac := line[i+len(macField):]
	if len(mac) != 64+2 || mac[64] != '"' || mac[65] != '}' {
		return kid, false, false
	}
	k, held := keys[kid]
	if !held {
		return kid, false, true
	}
	want := hex.EncodeToString(k.journalMAC(append(line[:i:i], '}')))
	if !hmac.Equal([]byte(want), mac[:64]) {
		return kid, false, false
	}
	return kid, true, true
}

// Journal is one process's journal. A nil *Journal records nothing.
type Journal struct {
	dir      string
	key      Key          // seals each line when set
	announce func() error // hands key over, before the first line

	mu   sync.Mutex
	f    *os.File
	path string
	seq  int
	open map[int]bool
	err  error // the first write error; later entries are not written
}

var ownStart = sync.OnceValue(func() string { return ProcessStart(os.Getpid()) })

// NewJournal is a journal in dir; nothing is written until an entry begins.
func NewJournal(dir string) *Journal { return &Journal{dir: dir, open: map[int]bool{}} }

// Seal makes every line carry a MAC under k, the key `inject` hands to its own post step, and
// has announce hand it over before the first line is written (a journal that stays empty hands
// nothing on). When announce fails, nothing is journaled (Err says why). Call it before the
// first entry.
func (j *Journal) Seal(k Key, announce func() error) {
	if j == nil {
		return
	}
	j.mu.Lock()
	j.key, j.announce = k, announce
	j.mu.Unlock()
}

// Entry is one thing being created. A nil *Entry does nothing.
type Entry struct {
	j   *Journal
	seq int
}

// Begin records, before it is created, what is about to be created.
func (j *Journal) Begin(kind string, params map[string]string) *Entry {
	if j == nil {
		return nil
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	j.seq++
	e := &Entry{j: j, seq: j.seq}
	j.open[e.seq] = true
	j.write(record{Op: "begin", Seq: e.seq, Kind: kind, Params: params, PID: os.Getpid(), Start: ownStart(), Time: time.Now().UTC()})
	return e
}

// Created records the id of what was created, and when it expires by itself.
func (e *Entry) Created(id string, expiry time.Time) {
	if e == nil {
		return
	}
	e.j.mu.Lock()
	defer e.j.mu.Unlock()
	e.j.write(record{Op: "created", Seq: e.seq, ID: id, Expiry: expiry})
}

// Done records that it was taken back, or handed to someone who will (inject's state file), or
// never created.
func (e *Entry) Done() {
	if e == nil {
		return
	}
	j := e.j
	j.mu.Lock()
	defer j.mu.Unlock()
	if !j.open[e.seq] {
		return
	}
	delete(j.open, e.seq)
	j.write(record{Op: "done", Seq: e.seq})
	j.closeIfDone()
}

// HandOver closes every open entry: `inject` has recorded them in its state file, for the post
// step's cleanup.
func (j *Journal) HandOver() {
	if j == nil {
		return
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	for seq := range j.open {
		delete(j.open, seq)
		j.write(record{Op: "done", Seq: seq})
	}
	j.closeIfDone()
}

// Err is the first error writing the journal, if any.
func (j *Journal) Err() error {
	if j == nil {
		return nil
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.err
}

// write appends r and syncs it. Called with j.mu held.
func (j *Journal) write(r record) {
	if j.err != nil {
		return
	}
	if j.f == nil {
		if j.announce != nil {
			if err := j.announce(); err != nil {
				j.err = fmt.Errorf("journal: handing its key to the post step: %w", err)
				return
			}
			j.announce = nil
		}
		if err := os.MkdirAll(j.dir, 0o700); err != nil {
			j.err = fmt.Errorf("journal: %w", err)
			return
		}
		var b [6]byte
		_, _ = rand.Read(b[:])
		j.path = filepath.Join(j.dir, JournalPrefix+strconv.Itoa(os.Getpid())+"-"+hex.EncodeToString(b[:])+JournalSuffix)
		f, err := os.OpenFile(j.path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o600)
		if err != nil {
			j.err = fmt.Errorf("journal: %w", err)
			return
		}
		j.f = f
	}
	if !j.key.IsZero() {
		r.KeyID = j.key.ID()
	}
	line, _ := json.Marshal(r)
	if !j.key.IsZero() {
		line = j.key.seal(line)
	}
	if _, err := j.f.Write(append(line, '\n')); err != nil {
		j.err = fmt.Errorf("journal %s: %w", j.path, err)
		return
	}
	if err := j.f.Sync(); err != nil {
		j.err = fmt.Errorf("journal %s: %w", j.path, err)
	}
}

// closeIfDone removes the file once nothing is open. Called with j.mu held.
func (j *Journal) closeIfDone() {
	if len(j.open) > 0 || j.f == nil || j.err != nil {
		return
	}
	j.f.Close()
	if err := os.Remove(j.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		j.err = fmt.Errorf("journal: %w", err)
	}
	j.f, j.path = nil, ""
}

// Orphan is an entry a dead patinject left open.
type Orphan struct {
	File  string
	Seq   int
	PID   int
	Start string // when the process started, as ProcessStart says ("" when unknown)
	// Seal is the id of the key its lines were sealed with ("" for none). Action.Unsealed is
	// false only when this process holds that key and every line of the entry matched it.
	Seal   string
	Action Action // what to undo; ID is "" when the process died before it was known
}

// Orphans reads the journals in dir whose process is gone, and returns their open entries,
// checking the seals of their lines against keys. alive reports whether the process of a pid
// and its start time (ProcessStart, "" when unknown) is still running (nil: every process is
// taken as gone). A journal file that cannot be trusted or read is skipped, and named in the
// error; the others are still read. Another user's journal is skipped without a word.
func Orphans(dir string, alive func(pid int, start string) bool, keys ...Key) ([]Orphan, error) {
	files, err := filepath.Glob(filepath.Join(dir, JournalPrefix+"*"+JournalSuffix))
	if err != nil {
		return nil, err
	}
	held := map[string]Key{}
	for _, k := range keys {
		if !k.IsZero() {
			held[k.ID()] = k
		}
	}
	sort.Strings(files)
	var out []Orphan
	var errs []error
	for _, file := range files {
		open, err := readJournal(file, held)
		if errors.Is(err, errNotMine) {
			continue // another user's, in a shared temporary directory: theirs to sweep
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if len(open) > 0 && alive != nil && open[0].PID != 0 && alive(open[0].PID, open[0].Start) {
			continue
		}
		out = append(out, open...)
	}
	return out, errors.Join(errs...)
}

// errNotMine is a journal file another user owns.
var errNotMine = errors.New("another user's journal")

// maxJournal bounds what is read of one journal file.
const maxJournal = 4 << 20

// readJournal returns the open entries of one journal file. Lines it cannot read (a line cut
// by the crash) are skipped: a begin without its end is exactly what it is there to find.
func readJournal(file string, keys map[string]Key) ([]Orphan, error) {
	// Only a file of this user's that no one else can write: a journal in a shared temporary
	// directory could otherwise be another user's words.
	fi, err := os.Lstat(file)
	if err != nil {
		return nil, err
	}
	if fi.Mode().IsRegular() && !privdir.OwnedByMe(file, fi) {
		return nil, errNotMine
	}
	if err := checkPrivateFile(file, fi); err != nil {
		return nil, fmt.Errorf("journal %s: %w: not read", file, err)
	}
	f, err := os.OpenFile(file, os.O_RDONLY|oNoFollow, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !os.SameFile(fi, st) {
		return nil, fmt.Errorf("journal %s: replaced while it was read: not read", file)
	}
	entries := map[int]*Orphan{}
	var order []int
	pid, start := 0, ""
	sc := bufio.NewScanner(&limited{f: f, left: maxJournal})
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var r record
		if json.Unmarshal(sc.Bytes(), &r) != nil {
			continue
		}
		seal, verified, ok := lineSeal(sc.Bytes(), r.KeyID, keys)
		if !ok {
			continue // a line that claims a seal it does not have: forged, ignored
		}
		switch r.Op {
		case "begin":
			if e, dup := entries[r.Seq]; dup && !e.Action.Unsealed {
				continue // a second begin cannot replace what a sealed one said
			}
			if pid == 0 && r.PID != 0 {
				// One process writes a journal: its first line says which, and a line appended
				// later cannot make it look dead (or alive).
				pid, start = r.PID, r.Start
			}
			if _, dup := entries[r.Seq]; !dup {
				order = append(order, r.Seq)
			}
			entries[r.Seq] = &Orphan{File: file, Seq: r.Seq, PID: r.PID, Seal: seal,
				Action: Action{Kind: r.Kind, Params: r.Params, Unsealed: !verified}}
		case "created":
			// Only under the begin's own seal: a line appended to a sealed entry by someone
			// without its key cannot give it an id.
			if e := entries[r.Seq]; e != nil && seal == e.Seal && verified == !e.Action.Unsealed {
				e.Action.ID, e.Action.Expiry = r.ID, r.Expiry
			}
		case "done":
			// Not checked: whoever could write it could as well remove the file.
			delete(entries, r.Seq)
		}
	}
	// Last first, as the registry undoes: a lease before the login token it was read with.
	var out []Orphan
	for i := len(order) - 1; i >= 0; i-- {
		seq := order[i]
		if e, ok := entries[seq]; ok {
			e.PID, e.Start = pid, start
			out = append(out, *e)
		}
	}
	if len(out) == 0 && sc.Err() == nil {
		// Every entry closed, yet the file is there (a crash between the last line and the
		// removal): nothing to do, so it goes.
		_ = os.Remove(file)
	}
	return out, sc.Err()
}

type limited struct {
	f    *os.File
	left int64
}

func (l *limited) Read(p []byte) (int, error) {
	if l.left <= 0 {
		return 0, errors.New("journal too large")
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.f.Read(p)
	l.left -= int64(n)
	return n, err
}

// Close records that an orphan was taken back. The journal file goes once every entry in it
// is closed.
func (o Orphan) Close() error {
	f, err := os.OpenFile(o.File, os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	line, _ := json.Marshal(record{Op: "done", Seq: o.Seq})
	// On a line of its own even after a line the crash cut short.
	_, err = f.Write(append(append([]byte{'\n'}, line...), '\n'))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	left, rerr := readJournal(o.File, nil)
	if rerr == nil && len(left) == 0 {
		_ = os.Remove(o.File)
	}
	return rerr
}

// IsJournal reports whether name is a journal file's name.
func IsJournal(name string) bool {
	return strings.HasPrefix(name, JournalPrefix) && strings.HasSuffix(name, JournalSuffix)
}
