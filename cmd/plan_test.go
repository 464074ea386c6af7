package cmd_test

import (
	"bytes"
	"net"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/patinject/patinject/cmd"
)

// plan contacts no service: every endpoint of the plan is a listener that counts connections,
// and none is made. The same flags with --check do connect, which shows the counter counts.
func TestPlanOpensNoConnection(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var accepted atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close()
		}
	}()
	url := "http://" + ln.Addr().String()
	t.Setenv("VAULT_ADDR", url)
	t.Setenv("VAULT_TOKEN", "hvs.not-a-real-token-0123456789")
	t.Setenv("ENTRA", "eyJ.not-a-real-entra-token.sig")
	args := []string{"patinject", "plan", "--ado-url", url, "--ado-access-token", "env:ENTRA",
		"--token", "ado-pat://contoso?scope=vso.code", "--git", "https://dev.azure.com/contoso/",
		"--secret", "A=vault://secret/ci/a#x", "--secret", "B=vault://pki/issue/ci?common_name=x#certificate"}
	var out, errb bytes.Buffer
	if code := cmd.Main(args, strings.NewReader(""), &out, &errb); code != 0 {
		t.Fatalf("plan: exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "mint an Azure DevOps PAT in contoso") || !strings.Contains(out.String(), "write Vault pki/issue/ci") {
		t.Errorf("plan printed:\n%s", out.String())
	}
	if n := accepted.Load(); n != 0 {
		t.Errorf("plan opened %d connections", n)
	}
	for _, s := range []string{"hvs.not-a-real", "eyJ.not-a-real"} {
		if strings.Contains(out.String()+errb.String(), s) {
			t.Errorf("plan printed a credential")
		}
	}
	out.Reset()
	errb.Reset()
	if code := cmd.Main(append(args, "--check"), strings.NewReader(""), &out, &errb); code != 125 {
		t.Errorf("plan --check against a listener that hangs up: exit %d, want 125", code)
	}
	if accepted.Load() == 0 {
		t.Errorf("plan --check opened no connection either: the counter proves nothing")
	}
}
