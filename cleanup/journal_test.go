package cleanup

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func journalFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, JournalPrefix+"*"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestJournalLeavesNothingWhenAllIsUndone(t *testing.T) {
	dir := t.TempDir()
	j := NewJournal(dir)
	if n := len(journalFiles(t, dir)); n != 0 {
		t.Fatalf("a journal with no entry wrote %d files", n)
	}
	a := j.Begin("ado-pat", map[string]string{"org": "contoso", "name": "ci 1a2b"})
	b := j.Begin("vault-lease", map[string]string{"addr": "http://v"})
	a.Created("11111111-2222-3333-4444-555555555555", time.Now().Add(time.Hour))
	files := journalFiles(t, dir)
	if len(files) != 1 {
		t.Fatalf("journal files: %v", files)
	}
	st, err := os.Stat(files[0])
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("journal mode: %v %v", st.Mode(), err)
	}
	a.Done()
	b.Done()
	b.Done() // twice is fine
	if n := len(journalFiles(t, dir)); n != 0 {
		t.Errorf("%d journal files left after every entry closed", n)
	}
	if err := j.Err(); err != nil {
		t.Error(err)
	}
}

// A process that dies leaves its open entries, last first, with the id where it was written,
// and what finds it again where not; a line cut by the crash is skipped.
func TestOrphans(t *testing.T) {
	dir := t.TempDir()
	j := NewJournal(dir)
	a := j.Begin("ado-pat", map[string]string{"org": "contoso", "name": "ci 1a2b"})
	a.Created("11111111-2222-3333-4444-555555555555", time.Time{})
	j.Begin("ado-pat", map[string]string{"org": "contoso", "name": "ci 3c4d"}) // died before the id
	done := j.Begin("vault-lease", nil)
	done.Done()
	// The crash cut the last line.
	f, err := os.OpenFile(journalFiles(t, dir)[0], os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"op":"done","se`)
	f.Close()

	if got, err := Orphans(dir, func(int, string) bool { return true }); err != nil || len(got) != 0 {
		t.Fatalf("a live process's journal gave orphans %v, %v", got, err)
	}
	got, err := Orphans(dir, func(int, string) bool { return false })
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Action.Params["name"] != "ci 3c4d" || got[0].Action.ID != "" ||
		got[1].Action.ID != "11111111-2222-3333-4444-555555555555" || got[1].PID != os.Getpid() {
		t.Fatalf("orphans: %+v", got)
	}
	for _, o := range got {
		if err := o.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(journalFiles(t, dir)); n != 0 {
		t.Errorf("%d journal files left after every orphan closed", n)
	}
}

// The journal never holds a value: only what the caller gives as parameters and ids.
func TestJournalHoldsWhatItIsGiven(t *testing.T) {
	dir := t.TempDir()
	j := NewJournal(dir)
	e := j.Begin("vault-token", map[string]string{"addr": "http://v", "method": "approle"})
	e.Created("accessor-abc", time.Time{})
	b, err := os.ReadFile(journalFiles(t, dir)[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"op":"begin"`, `"kind":"vault-token"`, `"id":"accessor-abc"`, `"method":"approle"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("journal lacks %s:\n%s", want, b)
		}
	}
}

func FuzzReadJournal(f *testing.F) {
	f.Add([]byte(`{"op":"begin","seq":1,"kind":"ado-pat","pid":1}` + "\n" + `{"op":"created","seq":1,"id":"x"}` + "\n"))
	f.Add([]byte(`{"op":"done","seq":7}` + "\n" + `not json` + "\n" + `{"op":"begin","seq":-1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		path := filepath.Join(dir, JournalPrefix+"1-x"+JournalSuffix)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		got, _ := readJournal(path, nil)
		for _, o := range got {
			if o.File != path {
				t.Fatalf("orphan of another file: %+v", o)
			}
		}
	})
}

// A PAT whose life `run` extended is written again with its new expiry: after a crash, the
// sweep sees the later one, and does not skip the PAT as expired by then.
func TestJournalExtendedExpiry(t *testing.T) {
	dir := t.TempDir()
	j := NewJournal(dir)
	a := j.Begin("ado-pat", map[string]string{"org": "contoso"})
	first, later := time.Now().Add(-time.Minute).UTC().Truncate(time.Second), time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	a.Created("11111111-2222-3333-4444-555555555555", first)
	a.Created("11111111-2222-3333-4444-555555555555", later)
	orphans, err := readJournal(journalFiles(t, dir)[0], nil)
	if err != nil || len(orphans) != 1 {
		t.Fatalf("orphans %+v, %v", orphans, err)
	}
	if !orphans[0].Action.Expiry.Equal(later) {
		t.Errorf("expiry %v, want the extended %v", orphans[0].Action.Expiry, later)
	}
}

// SetExpiry moves an action's expiry, so Run undoes what would otherwise count as expired.
func TestRegistrySetExpiry(t *testing.T) {
	now := time.Now()
	r := &Registry{now: func() time.Time { return now }}
	undone := 0
	r.Add(Action{Kind: "ado-pat", ID: "a", Expiry: now.Add(-time.Second)}, func(context.Context) error { undone++; return nil })
	r.Add(Action{Kind: "ado-pat", ID: "b", Expiry: now.Add(-time.Second)}, func(context.Context) error { undone += 10; return nil })
	r.SetExpiry("ado-pat", "a", now.Add(time.Hour))
	if err := r.Run(context.Background(), nil); err != nil || undone != 1 {
		t.Errorf("undone %d (%v), want only the extended one", undone, err)
	}
}

// A sealed journal: the key's holder gets its entries as verified; a process without the key
// gets them unsealed (for the service to confirm); a line appended by someone without the key
// (an id for a sealed entry, a begin, a second begin of a sealed entry's seq) counts for nothing
// with the key, and a line whose MAC was changed is dropped.
func TestJournalSeal(t *testing.T) {
	dir := t.TempDir()
	k, _ := NewKey()
	other, _ := NewKey()
	j := NewJournal(dir)
	announced := 0
	j.Seal(k, func() error {
		if len(journalFiles(t, dir)) != 0 {
			t.Error("the key was announced after the journal's first line")
		}
		announced++
		return nil
	})
	e := j.Begin("ado-pat", map[string]string{"org": "contoso", "name": "patinject ci 1a2b3c4d"})
	file := journalFiles(t, dir)[0]
	appendLine(t, file, `{"op":"created","seq":1,"id":"6f1e2d3c-0000-4000-8000-00000000dead"}`)
	appendLine(t, file, `{"op":"begin","seq":1,"kind":"ado-pat","params":{"org":"contoso"}}`)
	appendLine(t, file, `{"op":"begin","seq":7,"kind":"vault-token","params":{}}`)
	b, _ := os.ReadFile(file)
	first := strings.SplitN(string(b), "\n", 2)[0]
	forged := strings.Replace(first, `"mac":"`, `"mac":"0`, 1)
	forged = forged[:len(forged)-3] + `"}`
	appendLine(t, file, strings.Replace(forged, `"seq":1`, `"seq":8`, 1))

	got, err := Orphans(dir, nil, k)
	if err != nil {
		t.Fatal(err)
	}
	byseq := map[int]Orphan{}
	for _, o := range got {
		byseq[o.Seq] = o
	}
	if o := byseq[1]; o.Action.Unsealed || o.Action.ID != "" || o.Action.Params["name"] != "patinject ci 1a2b3c4d" {
		t.Errorf("the sealed entry with the key: %+v", o)
	}
	if o := byseq[7]; !o.Action.Unsealed || o.Seal != "" {
		t.Errorf("an unsealed line passed for sealed: %+v", o)
	}
	if _, ok := byseq[8]; ok {
		t.Errorf("a line with a changed MAC was read")
	}
	for _, keys := range [][]Key{nil, {other}} {
		got, err = Orphans(dir, nil, keys...)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range got {
			if !o.Action.Unsealed {
				t.Errorf("without the key: %+v passed for verified", o)
			}
		}
	}
	e.Done()
	j.Begin("ado-pat", nil).Done()
	if announced != 1 {
		t.Errorf("the key was announced %d times, want once", announced)
	}
	// A journal whose key cannot be handed over writes nothing, and says so.
	j = NewJournal(t.TempDir())
	j.Seal(k, func() error { return errors.New("GITHUB_STATE: disk full") })
	j.Begin("ado-pat", nil)
	if err := j.Err(); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("Err = %v", err)
	}
}

func appendLine(t *testing.T, file, line string) {
	t.Helper()
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(line + "\n"); err != nil {
		t.Fatal(err)
	}
}

// One process writes a journal: its first begin says which process and when it started, and a
// begin appended later with another pid cannot make it look dead (or alive) to the sweep.
func TestJournalProcessIsTheFirstLines(t *testing.T) {
	dir := t.TempDir()
	NewJournal(dir).Begin("ado-pat", nil)
	appendLine(t, journalFiles(t, dir)[0], `{"op":"begin","seq":2,"kind":"ado-pat","pid":999999999,"start":"x:1"}`)
	got, err := Orphans(dir, nil)
	if err != nil || len(got) != 2 {
		t.Fatalf("orphans %+v, %v", got, err)
	}
	for _, o := range got {
		if o.PID != os.Getpid() || o.Start != ownStart() {
			t.Errorf("orphan %d: pid %d start %q, want this process's", o.Seq, o.PID, o.Start)
		}
	}
}
