//go:build !linux

package main

// keepCtrlDForEditor leaves the terminal as it is where its settings are
// not read the Linux way (see ttyeof_linux.go).
func keepCtrlDForEditor(fd int) (restore func()) { return func() {} }
