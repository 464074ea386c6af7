package inject

func NewSecretMatcher(values []string, users ...string) *Matcher {
	var p [][]byte
	for _, v := range values {
		p = append(p, Forms(v, users...)...)
	}
	return NewMatcher(p)
}
