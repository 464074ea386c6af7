package cleanup

import (
	"context"
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

	if got, err := Orphans(dir, func(int) bool { return true }); err != nil || len(got) != 0 {
		t.Fatalf("a live process's journal gave orphans %v, %v", got, err)
	}
	got, err := Orphans(dir, func(int) bool { return false })
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
		got, _ := readJournal(path)
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
	orphans, err := readJournal(journalFiles(t, dir)[0])
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
