// Package cienv reads the CI platform's context (which platform, its temp directory, the
// repository and run) from the environment through go-envconfig, so that tests pass a map.
package cienv

import (
	"context"
	"fmt"

	"github.com/sethvargo/go-envconfig"
)

// Platform names a CI system.
type Platform string

const (
	None   Platform = "local"
	GitHub Platform = "github"
	Azure  Platform = "azure"
	GitLab Platform = "gitlab"
)

// Context is what patinject reads of the CI platform it runs on.
type Context struct {
	GitHubActions   bool   `env:"GITHUB_ACTIONS"`
	RunnerTemp      string `env:"RUNNER_TEMP"`
	GitHubEnv       string `env:"GITHUB_ENV"`
	GitHubState     string `env:"GITHUB_STATE"`
	GitHubOutput    string `env:"GITHUB_OUTPUT"`
	GitHubPath      string `env:"GITHUB_PATH"`
	GitHubSummary   string `env:"GITHUB_STEP_SUMMARY"`
	GitHubRepo      string `env:"GITHUB_REPOSITORY"`
	GitHubRunID     string `env:"GITHUB_RUN_ID"`
	GitHubRunNumber string `env:"GITHUB_RUN_NUMBER"`
	GitHubJob       string `env:"GITHUB_JOB"`
	GitHubServerURL string `env:"GITHUB_SERVER_URL"`
	IDTokenURL      string `env:"ACTIONS_ID_TOKEN_REQUEST_URL"`
	IDTokenToken    string `env:"ACTIONS_ID_TOKEN_REQUEST_TOKEN"`
	// PostState is what the main step saved as "state" through GITHUB_STATE; the runner hands it
	// to the post step of the same action as STATE_state.
	PostState string `env:"STATE_state"`

	TFBuild        string `env:"TF_BUILD"`
	AgentTemp      string `env:"AGENT_TEMPDIRECTORY"`
	CollectionURI  string `env:"SYSTEM_COLLECTIONURI"`
	TeamProject    string `env:"SYSTEM_TEAMPROJECT"`
	BuildRepoName  string `env:"BUILD_REPOSITORY_NAME"`
	BuildRepoURI   string `env:"BUILD_REPOSITORY_URI"`
	BuildID        string `env:"BUILD_BUILDID"`
	BuildNumber    string `env:"BUILD_BUILDNUMBER"`
	SystemJobID    string `env:"SYSTEM_JOBID"`
	OIDCRequestURI string `env:"SYSTEM_OIDCREQUESTURI"`
	SystemPlanID   string `env:"SYSTEM_PLANID"`
	// DecodePercents is the agent's knob (default true): "false" means the agent does not decode
	// %AZP25 in logging commands, so '%' must go out as it is.
	DecodePercents string `env:"DECODE_PERCENTS"`

	GitLabCI        bool   `env:"GITLAB_CI"`
	GitLabProject   string `env:"CI_PROJECT_PATH"`
	GitLabJobID     string `env:"CI_JOB_ID"`
	GitLabPipeline  string `env:"CI_PIPELINE_ID"`
	GitLabBuildsDir string `env:"CI_BUILDS_DIR"`
}

// Load reads the context through l (envconfig.OsLookuper() in production, envconfig.MapLookuper in tests).
func Load(ctx context.Context, l envconfig.Lookuper) (Context, error) {
	var c Context
	if err := envconfig.ProcessWith(ctx, &envconfig.Config{Target: &c, Lookuper: l}); err != nil {
		return Context{}, fmt.Errorf("reading the CI environment: %w", err)
	}
	return c, nil
}

// Detect returns the platform the process runs on: GITHUB_ACTIONS=true, TF_BUILD=True or
// GITLAB_CI=true, else None.
func (c Context) Detect() Platform {
	switch {
	case c.GitHubActions:
		return GitHub
	case c.TFBuild == "True" || c.TFBuild == "true":
		return Azure
	case c.GitLabCI:
		return GitLab
	}
	return None
}

// Repository names the repository being built, or "".
func (c Context) Repository() string {
	switch {
	case c.GitHubRepo != "":
		return c.GitHubRepo
	case c.BuildRepoName != "":
		if c.TeamProject != "" {
			return c.TeamProject + "/" + c.BuildRepoName
		}
		return c.BuildRepoName
	case c.GitLabProject != "":
		return c.GitLabProject
	}
	return ""
}

// Run names the CI run ("run 123", "build 20261127.4", "job 456"), or "".
func (c Context) Run() string {
	switch {
	case c.GitHubRunID != "":
		return "run " + c.GitHubRunID
	case c.BuildNumber != "":
		return "build " + c.BuildNumber
	case c.BuildID != "":
		return "build " + c.BuildID
	case c.GitLabJobID != "":
		return "job " + c.GitLabJobID
	}
	return ""
}

// TempDir is the detected platform's per-job temporary directory, or "".
func (c Context) TempDir() string { return c.TempDirOf(c.Detect()) }

// TempDirOf is platform p's per-job temporary directory, or "".
func (c Context) TempDirOf(p Platform) string {
	switch p {
	case GitHub:
		return c.RunnerTemp
	case Azure:
		return c.AgentTemp
	}
	return ""
}
