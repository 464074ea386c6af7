package cleanup

import (
	"bytes"
	"os"
	"strconv"
	"strings"
)

// ProcessStart names when process pid started, so that a journal's process id, reused after
// its process died (or after a reboot), is not taken for that process: the boot's id and the
// start time in clock ticks since boot (/proc/PID/stat, field 22). "" when it cannot be read.
func ProcessStart(pid int) string {
	boot, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return ""
	}
	// The command name (field 2) is in parentheses and may hold spaces and ')': the fields
	// after it start after the last ')'. Field 22 is the 20th of those.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return ""
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 20 {
		return ""
	}
	return strings.TrimSpace(string(boot)) + ":" + f[19]
}
