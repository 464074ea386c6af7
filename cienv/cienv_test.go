package cienv

import (
	"context"
	"testing"

	"github.com/sethvargo/go-envconfig"
)

func TestContext(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name            string
		env             map[string]string
		platform        Platform
		repo, run, temp string
	}{
		{name: "laptop", env: map[string]string{"HOME": "/home/dev"}, platform: None},
		{name: "github", env: map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": "contoso/app", "GITHUB_RUN_ID": "42", "RUNNER_TEMP": "/runner/_temp"},
			platform: GitHub, repo: "contoso/app", run: "run 42", temp: "/runner/_temp"},
		{name: "azure pipelines", env: map[string]string{"TF_BUILD": "True", "SYSTEM_TEAMPROJECT": "Fabrikam", "BUILD_REPOSITORY_NAME": "app", "BUILD_BUILDNUMBER": "20261127.4", "AGENT_TEMPDIRECTORY": "/agent/_temp"},
			platform: Azure, repo: "Fabrikam/app", run: "build 20261127.4", temp: "/agent/_temp"},
		{name: "azure devops server, build id only", env: map[string]string{"TF_BUILD": "True", "BUILD_REPOSITORY_NAME": "app", "BUILD_BUILDID": "17"},
			platform: Azure, repo: "app", run: "build 17"},
		{name: "gitlab", env: map[string]string{"GITLAB_CI": "true", "CI_PROJECT_PATH": "group/app", "CI_JOB_ID": "99"},
			platform: GitLab, repo: "group/app", run: "job 99"},
		{name: "github wins over a stray TF_BUILD", env: map[string]string{"GITHUB_ACTIONS": "true", "TF_BUILD": "True"}, platform: GitHub},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := Load(context.Background(), envconfig.MapLookuper(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			got := []string{string(c.Detect()), c.Repository(), c.Run(), c.TempDir()}
			want := []string{string(tt.platform), tt.repo, tt.run, tt.temp}
			for i := range got {
				if got[i] != want[i] {
					t.Errorf("field %d: got %q, want %q", i, got[i], want[i])
				}
			}
		})
	}
}

func TestLoadRejectsMalformedBool(t *testing.T) {
	t.Parallel()
	_, err := Load(context.Background(), envconfig.MapLookuper(map[string]string{"GITHUB_ACTIONS": "maybe"}))
	if err == nil {
		t.Fatal("got no error for GITHUB_ACTIONS=maybe")
	}
}
