//go:build !linux

package cleanup

// ProcessStart is "" where patinject cannot read when a process started: a journal's process
// id is then taken at its word (a reused id counts as alive, and its journal waits).
func ProcessStart(pid int) string { return "" }
