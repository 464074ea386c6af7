// Command nugetplugin times what NuGet waits for when it asks patinject's authentication plugin
// for a token under `patinject run` (bench/nugetplugin.sh): start the plugin through its
// launcher, the symmetric handshake, GetAuthenticationCredentials answered from the running
// patinject's socket, Close. The floor is the least any plugin costs: starting a Go program
// that answers one line on a pipe (this program with -echo, the same exchange with nothing
// behind it).
//
//	go run ./bench/nugetplugin -patinject BIN [-runs N]
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/patinject/patinject/credsock"
	"github.com/patinject/patinject/secret"
)

func main() {
	bin := flag.String("patinject", "", "the patinject `binary`")
	runs := flag.Int("runs", 100, "how many exchanges to time")
	echo := flag.Bool("echo", false, "act as the floor plugin: answer each request line with a fixed line")
	flag.Parse()
	if *echo {
		floorPlugin()
		return
	}
	dir, err := os.MkdirTemp("", "nugetplugin-bench-")
	check(err)
	defer os.RemoveAll(dir)
	srv, err := credsock.Listen(filepath.Join(dir, "credential.sock"), func(context.Context) (secret.Value, time.Time, error) {
		return secret.NewValue("bench-token-0123456789abcdef"), time.Now().Add(time.Hour), nil
	})
	check(err)
	defer srv.Close()
	cfg := filepath.Join(dir, "nuget-plugin.json")
	check(os.WriteFile(cfg, []byte(`{"sources":["https://feed.example/v3/index.json"],"username":"u","socket":"`+srv.Path+`"}`), 0o600))
	self, err := os.Executable()
	check(err)

	plugin := median(*runs, func() { exchange(*bin, "nuget-plugin", "--config", cfg, "-Plugin") })
	floor := median(*runs, func() { exchange(self, "-echo") })
	fmt.Printf("%-52s %8.2f ms\n", "patinject plugin: start, handshake, token, close", ms(plugin))
	fmt.Printf("%-52s %8.2f ms\n", "floor: a Go program answering on a pipe", ms(floor))
	fmt.Printf("%-52s %8.2f\n", "ratio", float64(plugin)/float64(floor))
	fmt.Printf("%-52s %8.2f ms\n", "patinject - floor", ms(plugin-floor))
}

// exchange plays NuGet: start the plugin, answer its handshake, send ours, ask for the
// credentials, and close.
func exchange(name string, args ...string) {
	cmd := exec.Command(name, args...)
	in, err := cmd.StdinPipe()
	check(err)
	outPipe, err := cmd.StdoutPipe()
	check(err)
	cmd.Stderr = os.Stderr
	check(cmd.Start())
	out := bufio.NewScanner(outPipe)
	read := func() map[string]any {
		if !out.Scan() {
			panic(fmt.Sprintf("the plugin stopped: %v", out.Err()))
		}
		var m map[string]any
		check(json.Unmarshal(out.Bytes(), &m))
		return m
	}
	hs := read()
	fmt.Fprintf(in, `{"RequestId":%q,"Type":"Response","Method":"Handshake","Payload":{"ResponseCode":"Success","ProtocolVersion":"2.0.0"}}`+"\n", hs["RequestId"])
	fmt.Fprintln(in, `{"RequestId":"1","Type":"Request","Method":"Handshake","Payload":{"ProtocolVersion":"2.0.0","MinimumProtocolVersion":"1.0.0"}}`)
	read()
	fmt.Fprintln(in, `{"RequestId":"2","Type":"Request","Method":"GetAuthenticationCredentials","Payload":{"Uri":"https://feed.example/v3/index.json","IsRetry":true,"IsNonInteractive":true,"CanShowDialog":false}}`)
	if m := read(); m["Payload"].(map[string]any)["ResponseCode"] != "Success" {
		panic(fmt.Sprintf("no credentials: %v", m))
	}
	fmt.Fprintln(in, `{"RequestId":"3","Type":"Request","Method":"Close"}`)
	in.Close()
	io.Copy(io.Discard, outPipe)
	check(cmd.Wait())
}

// floorPlugin answers like a plugin with a fixed token and nothing behind it.
func floorPlugin() {
	fmt.Println(`{"RequestId":"h","Type":"Request","Method":"Handshake","Payload":{"ProtocolVersion":"2.0.0","MinimumProtocolVersion":"2.0.0"}}`)
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		l := sc.Text()
		switch {
		case strings.Contains(l, `"Method":"Close"`):
			return
		case strings.Contains(l, `"Type":"Request"`):
			var m struct{ RequestId string }
			json.Unmarshal([]byte(l), &m)
			fmt.Printf(`{"RequestId":%q,"Type":"Response","Method":"x","Payload":{"ResponseCode":"Success","ProtocolVersion":"2.0.0","Username":"u","Password":"p"}}`+"\n", m.RequestId)
		}
	}
}

func median(n int, f func()) time.Duration {
	f() // warm the page cache
	d := make([]time.Duration, n)
	for i := range d {
		t := time.Now()
		f()
		d[i] = time.Since(t)
	}
	slices.Sort(d)
	return d[n/2]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func check(err error) {
	if err != nil {
		panic(err)
	}
}
