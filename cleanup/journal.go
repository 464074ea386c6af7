package cleanup

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The journal makes the credential lifecycle crash-safe. Before a source mints or leases, it
// writes what it is about to create (kind, where, the unique tag it will carry; never a value)
// and syncs it to disk; then the id once it is known; then that it was taken back. A patinject
// killed on the way (SIGKILL, an OOM kill, a lost machine) leaves a journal whose open entries
// `patinject cleanup --orphans`, and the start of every later run, take back: by id where the
// journal has it, otherwise by what it was to carry (a PAT's display-name tag).
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
	Time   time.Time         `json:"time,omitzero"`
}

// Journal is one process's journal. A nil *Journal records nothing.
type Journal struct {
	dir string

	mu   sync.Mutex
	f    *os.File
	path string
	seq  int
	open map[int]bool
	err  error // the first write error; later entries are not written
}

// NewJournal is a journal in dir; nothing is written until an entry begins.
func NewJournal(dir string) *Journal { return &Journal{dir: dir, open: map[int]bool{}} }

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
	j.write(record{Op: "begin", Seq: e.seq, Kind: kind, Params: params, PID: os.Getpid(), Time: time.Now().UTC()})
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
	line, _ := json.Marshal(r)
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
	File   string
	Seq    int
	PID    int
	Action Action // what to undo; ID is "" when the process died before it was known
}

// Orphans reads the journals in dir whose process is gone, and returns their open entries.
// alive reports whether a process id is still running (nil: every process is taken as gone).
func Orphans(dir string, alive func(pid int) bool) ([]Orphan, error) {
	files, err := filepath.Glob(filepath.Join(dir, JournalPrefix+"*"+JournalSuffix))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	var out []Orphan
	for _, file := range files {
		open, err := readJournal(file)
		if err != nil {
			return out, err
		}
		if len(open) > 0 && alive != nil && open[0].PID != 0 && alive(open[0].PID) {
			continue
		}
		out = append(out, open...)
	}
	return out, nil
}

// maxJournal bounds what is read of one journal file.
const maxJournal = 4 << 20

// readJournal returns the open entries of one journal file. Lines it cannot read (a line cut
// by the crash) are skipped: a begin without its end is exactly what it is there to find.
func readJournal(file string) ([]Orphan, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("journal %s: not a regular file", file)
	}
	entries := map[int]*Orphan{}
	var order []int
	pid := 0
	sc := bufio.NewScanner(&limited{f: f, left: maxJournal})
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var r record
		if json.Unmarshal(sc.Bytes(), &r) != nil {
			continue
		}
		switch r.Op {
		case "begin":
			if r.PID != 0 {
				pid = r.PID
			}
			if _, dup := entries[r.Seq]; !dup {
				order = append(order, r.Seq)
			}
			entries[r.Seq] = &Orphan{File: file, Seq: r.Seq, PID: r.PID, Action: Action{Kind: r.Kind, Params: r.Params}}
		case "created":
			if e := entries[r.Seq]; e != nil {
				e.Action.ID, e.Action.Expiry = r.ID, r.Expiry
			}
		case "done":
			delete(entries, r.Seq)
		}
	}
	// Last first, as the registry undoes: a lease before the login token it was read with.
	var out []Orphan
	for i := len(order) - 1; i >= 0; i-- {
		seq := order[i]
		if e, ok := entries[seq]; ok {
			e.PID = pid
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
	left, rerr := readJournal(o.File)
	if rerr == nil && len(left) == 0 {
		_ = os.Remove(o.File)
	}
	return rerr
}

// IsJournal reports whether name is a journal file's name.
func IsJournal(name string) bool {
	return strings.HasPrefix(name, JournalPrefix) && strings.HasSuffix(name, JournalSuffix)
}
