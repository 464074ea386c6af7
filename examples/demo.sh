#!/bin/sh
# What a build step sees under `patinject run`: the real token in its environment, while every
# form of it that reaches the log is redacted.
echo "the build has a token of ${#DEMO_TOKEN} characters (sha256 $(printf %s "$DEMO_TOKEN" | sha256sum | cut -c1-12)...)"
echo "printed as is:        $DEMO_TOKEN"
echo "as a Basic header:    Authorization: Basic $(printf ':%s' "$DEMO_TOKEN" | base64)"
echo "base64 of the token:  $(printf %s "$DEMO_TOKEN" | base64)"
echo "on stderr too:        $DEMO_TOKEN" >&2
