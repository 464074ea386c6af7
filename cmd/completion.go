package cmd

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

// Shell completion: each script asks patinject itself for the candidates (urfave/cli's
// --generate-bash-completion), so commands and flags added later complete without a new script.
var completionScripts = map[string]string{
	"bash": `_patinject_complete() {
  local cur words
  cur="${COMP_WORDS[COMP_CWORD]}"
  words=("${COMP_WORDS[@]:0:COMP_CWORD}")
  if [[ "$cur" == -* ]]; then
    words+=("$cur")
  fi
  COMPREPLY=($(compgen -W "$("${words[@]}" --generate-bash-completion 2>/dev/null)" -- "$cur"))
}
complete -o default -F _patinject_complete patinject
`,
	"zsh": `#compdef patinject
_patinject() {
  local -a opts
  local cur=${words[-1]}
  if [[ "$cur" == -* ]]; then
    opts=("${(@f)$(${words[@]:0:#words[@]-1} ${cur} --generate-bash-completion 2>/dev/null)}")
  else
    opts=("${(@f)$(${words[@]:0:#words[@]-1} --generate-bash-completion 2>/dev/null)}")
  fi
  _describe 'values' opts
}
compdef _patinject patinject
`,
	"powershell": `Register-ArgumentCompleter -Native -CommandName patinject -ScriptBlock {
  param($wordToComplete, $commandAst, $cursorPosition)
  $words = $commandAst.CommandElements | ForEach-Object { $_.ToString() }
  if ($wordToComplete -ne '') { $words = $words[0..($words.Count - 2)] }
  $args = @()
  if ($words.Count -gt 1) { $args = $words[1..($words.Count - 1)] }
  if ($wordToComplete -like '-*') { $args += $wordToComplete }
  & $words[0] @args --generate-bash-completion 2>$null |
    Where-Object { $_ -like "$wordToComplete*" } |
    ForEach-Object { [System.Management.Automation.CompletionResult]::new($_, $_, 'ParameterValue', $_) }
}
`,
}

func (a *app) completionCommand() *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print a shell completion script: bash, zsh, fish or powershell",
		ArgsUsage: "bash|zsh|fish|powershell",
		Description: "Load it in your shell's start-up file, for example:\n" +
			"   bash:       source <(patinject completion bash)\n" +
			"   zsh:        source <(patinject completion zsh)\n" +
			"   fish:       patinject completion fish | source\n" +
			"   powershell: patinject completion powershell | Out-String | Invoke-Expression",
		Action: func(c *cli.Context) error {
			shell := c.Args().First()
			if shell == "fish" {
				s, err := c.App.ToFishCompletion()
				if err != nil {
					return err
				}
				_, err = fmt.Fprint(a.p.Stdout, s)
				return err
			}
			s, ok := completionScripts[shell]
			if !ok || c.NArg() != 1 {
				return fmt.Errorf("completion takes one shell: bash, zsh, fish or powershell")
			}
			_, err := fmt.Fprint(a.p.Stdout, s)
			return err
		},
	}
}
