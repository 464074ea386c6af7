package inject

import (
	"testing"

	"github.com/patinject/patinject/secret"
)

func TestRestPlan(t *testing.T) {
	t.Parallel()
	basic := b64("ci:" + testToken)
	tests := []struct {
		name string
		c    Config
		want planView
	}{
		{
			name: "token-env",
			c:    Config{Values: map[string][]string{"token-env": {"AZURE_DEVOPS_EXT_PAT", "SYSTEM_ACCESSTOKEN"}}},
			want: planView{Env: map[string]string{"AZURE_DEVOPS_EXT_PAT": "secret:" + testToken, "SYSTEM_ACCESSTOKEN": "secret:" + testToken}, Masks: []string{}},
		},
		{
			name: "authorization-env",
			c:    Config{Values: map[string][]string{"authorization-env": {"PATINJECT_AUTHORIZATION"}}},
			want: planView{Env: map[string]string{"PATINJECT_AUTHORIZATION": "secret:Basic " + basic}, Masks: []string{basic, "Basic " + basic}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := tt.c
			c.Token, c.Username = secret.NewValue(testToken), "ci"
			p, err := Build(c)
			if err != nil {
				t.Fatal(err)
			}
			checkView(t, viewOf(p), tt.want)
		})
	}
}
