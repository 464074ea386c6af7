#!/usr/bin/env bash
# What NuGet waits for when it asks patinject's authentication plugin for a refreshed token under
# `patinject run`: start, handshake, GetAuthenticationCredentials answered from the running
# patinject's socket, Close; against the floor, a Go program that answers the same lines on a
# pipe with nothing behind it. NuGet asks once per process, on the first 401 after expiry.
#
#   bench/nugetplugin.sh          100 exchanges each
#   RUNS=20 bench/nugetplugin.sh
source "$(dirname "$0")/lib.sh"
build_patinject
(cd "$root" && go build -o "$work/nugetplugin" ./bench/nugetplugin)
"$work/nugetplugin" -patinject "$bin" -runs "${RUNS:-100}"
