// Package nugetfeed is a NuGet v3 feed for integration tests, behind Basic auth on 127.0.0.1:
// the service index (PackageBaseAddress/3.0.0 and RegistrationsBaseUrl, the two resources
// NuGet.exe needs to restore), registration indexes, the flat container and small .nupkg files
// built on the fly, with a log of every request and its Authorization header.
package nugetfeed

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/patinject/patinject/internal/testpeer/authlog"
)

// Package is a package the feed serves.
type Package struct{ ID, Version string }

// Feed is a running feed. It stops when the test ends.
type Feed struct {
	URL string // the service index, "http://127.0.0.1:PORT/v3/index.json"
	Log *authlog.Log
}

// Start serves pkgs on 127.0.0.1, asking for Basic auth with user and password (none when user
// is "").
func Start(t testing.TB, user, password string, pkgs ...Package) *Feed {
	t.Helper()
	return StartOn(t, "127.0.0.1:0", user, password, pkgs...)
}

// StartOn is Start on another local address.
func StartOn(t testing.TB, addr, user, password string, pkgs ...Package) *Feed {
	t.Helper()
	return start(t, addr, func(f *Feed, h http.Handler) http.Handler { return f.Log.Gate(user, password, h) }, pkgs)
}

// StartGated serves pkgs on 127.0.0.1 behind gate (an Entra token check, say) instead of a Basic
// check; every request is still logged.
func StartGated(t testing.TB, gate func(http.Handler) http.Handler, pkgs ...Package) *Feed {
	t.Helper()
	return start(t, "127.0.0.1:0", func(f *Feed, h http.Handler) http.Handler { return f.Log.Gate("", "", gate(h)) }, pkgs)
}

func start(t testing.TB, addr string, wrap func(*Feed, http.Handler) http.Handler, pkgs []Package) *Feed {
	t.Helper()
	f := &Feed{Log: &authlog.Log{}}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("nugetfeed: listen on %s: %v", addr, err)
	}
	byID := map[string][]Package{}
	nupkgs := map[string][]byte{}
	for _, p := range pkgs {
		id := strings.ToLower(p.ID)
		byID[id] = append(byID[id], p)
		b, err := Nupkg(p)
		if err != nil {
			t.Fatal(err)
		}
		nupkgs[id+"/"+strings.ToLower(p.Version)] = b
	}
	mux := http.NewServeMux()
	srv := httptest.NewUnstartedServer(wrap(f, mux))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	base := srv.URL
	f.URL = base + "/v3/index.json"

	mux.HandleFunc("GET /v3/index.json", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]any{
			"version": "3.0.0",
			"resources": []map[string]string{
				{"@id": base + "/v3/flat/", "@type": "PackageBaseAddress/3.0.0"},
				{"@id": base + "/v3/registration/", "@type": "RegistrationsBaseUrl"},
				{"@id": base + "/v3/registration/", "@type": "RegistrationsBaseUrl/3.0.0-beta"},
			},
		})
	})
	mux.HandleFunc("GET /v3/registration/{id}/index.json", func(w http.ResponseWriter, r *http.Request) {
		id := strings.ToLower(r.PathValue("id"))
		versions := byID[id]
		if len(versions) == 0 {
			http.NotFound(w, r)
			return
		}
		var items []map[string]any
		for _, p := range versions {
			v := strings.ToLower(p.Version)
			items = append(items, map[string]any{
				"@id": base + "/v3/registration/" + id + "/" + v + ".json",
				"catalogEntry": map[string]any{
					"@id": base + "/v3/catalog/" + id + "." + v + ".json", "id": p.ID, "version": p.Version,
					"listed": true, "dependencyGroups": []any{},
				},
				"packageContent": base + "/v3/flat/" + id + "/" + v + "/" + id + "." + v + ".nupkg",
			})
		}
		writeJSON(w, map[string]any{
			"count": 1,
			"items": []map[string]any{{
				"@id":   base + "/v3/registration/" + id + "/index.json#page",
				"count": len(items), "lower": versions[0].Version, "upper": versions[len(versions)-1].Version,
				"items": items,
			}},
		})
	})
	mux.HandleFunc("GET /v3/flat/{id}/index.json", func(w http.ResponseWriter, r *http.Request) {
		var vs []string
		for _, p := range byID[strings.ToLower(r.PathValue("id"))] {
			vs = append(vs, strings.ToLower(p.Version))
		}
		if len(vs) == 0 {
			http.NotFound(w, r)
			return
		}
		writeJSON(w, map[string]any{"versions": vs})
	})
	mux.HandleFunc("GET /v3/flat/{id}/{version}/{file}", func(w http.ResponseWriter, r *http.Request) {
		b, ok := nupkgs[strings.ToLower(r.PathValue("id"))+"/"+strings.ToLower(r.PathValue("version"))]
		if !ok || !strings.HasSuffix(r.PathValue("file"), ".nupkg") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = w.Write(b)
	})
	return f
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// Nupkg builds a package: a zip with its .nuspec and one content file.
func Nupkg(p Package) ([]byte, error) {
	var buf bytes.Buffer
	z := zip.NewWriter(&buf)
	files := []struct{ name, body string }{
		{p.ID + ".nuspec", fmt.Sprintf(`<?xml version="1.0" encoding="utf-8"?>
<package xmlns="http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd">
  <metadata>
    <id>%s</id>
    <version>%s</version>
    <authors>nugetfeed</authors>
    <description>A package served by patinject's test feed.</description>
  </metadata>
</package>
`, p.ID, p.Version)},
		{"content/hello.txt", "hello from " + p.ID + "\n"},
	}
	for _, f := range files {
		w, err := z.Create(f.name)
		if err != nil {
			return nil, err
		}
		if _, err := io.WriteString(w, f.body); err != nil {
			return nil, err
		}
	}
	if err := z.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
