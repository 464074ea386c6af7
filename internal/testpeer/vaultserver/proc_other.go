//go:build !linux

package vaultserver

import "syscall"

func sysProcAttr() *syscall.SysProcAttr { return nil }
