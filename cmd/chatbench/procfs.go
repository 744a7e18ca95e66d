package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat
// (100 on every Linux ABI Go supports).
const clockTicks = 100

// procSample is a process's CPU time and memory at one moment.
type procSample struct {
	CPU    float64 // user + system seconds
	RSSKiB int64   // VmRSS
}

// readProc samples /proc/<pid> ("self" for this process).
func readProc(pid string) (procSample, error) {
	var s procSample
	stat, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return s, err
	}
	s.CPU, err = parseStatCPU(stat)
	if err != nil {
		return s, err
	}
	status, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return s, err
	}
	s.RSSKiB = statusField(status, "VmRSS:")
	return s, nil
}

// parseStatCPU returns utime+stime in seconds from /proc/PID/stat. The
// command name may hold spaces and parentheses, so fields are counted
// from the last ')'.
func parseStatCPU(stat []byte) (float64, error) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("bad /proc stat")
	}
	f := strings.Fields(string(stat[i+1:]))
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, errors.New("short /proc stat")
	}
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, errors.New("bad /proc stat times")
	}
	return float64(ut+st) / clockTicks, nil
}

// statusField reads a "Name:   123 kB" line of /proc/PID/status.
func statusField(status []byte, name string) int64 {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), name); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				n, _ := strconv.ParseInt(f[0], 10, 64)
				return n
			}
		}
	}
	return 0
}

// findListener returns the PID of the process listening on TCP port, by
// matching the socket inode of /proc/net/tcp{,6} against /proc/*/fd.
// It sees only processes this user may inspect.
func findListener(port int) (int, error) {
	inodes := map[string]bool{}
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(data), "\n")[1:] {
			fs := strings.Fields(line)
			if len(fs) < 10 || fs[3] != "0A" { // 0A: LISTEN
				continue
			}
			_, hexPort, ok := strings.Cut(fs[1], ":")
			if p, err := strconv.ParseUint(hexPort, 16, 32); ok && err == nil && int(p) == port {
				inodes["socket:["+fs[9]+"]"] = true
			}
		}
	}
	if len(inodes) == 0 {
		return 0, fmt.Errorf("nothing listens on port %d", port)
	}
	fds, _ := filepath.Glob("/proc/[0-9]*/fd/*")
	for _, fd := range fds {
		if link, err := os.Readlink(fd); err == nil && inodes[link] {
			pid, _ := strconv.Atoi(strings.Split(fd, "/")[2])
			return pid, nil
		}
	}
	return 0, fmt.Errorf("no visible process holds the listener on port %d (pass --server-pid)", port)
}

// serverRateLimit reports the chat rate limit the server process was
// started with, from its command line or environment ("" when unset:
// the default of 20 per 10 s).
func serverRateLimit(pid int) string {
	var parts []string
	if cmd, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil {
		args := strings.Split(strings.TrimRight(string(cmd), "\x00"), "\x00")
		for i, a := range args {
			for _, name := range []string{"chat-rate-count", "chat-rate-window"} {
				for _, dash := range []string{"-", "--"} {
					if v, ok := strings.CutPrefix(a, dash+name+"="); ok {
						parts = append(parts, "--"+name+"="+v)
					} else if a == dash+name && i+1 < len(args) {
						parts = append(parts, "--"+name+"="+args[i+1])
					}
				}
			}
		}
	}
	if env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid)); err == nil {
		for _, kv := range strings.Split(string(env), "\x00") {
			if strings.HasPrefix(kv, "CHATROOM_CHAT_RATE_COUNT=") || strings.HasPrefix(kv, "CHATROOM_CHAT_RATE_WINDOW=") {
				parts = append(parts, kv)
			}
		}
	}
	return strings.Join(parts, " ")
}
