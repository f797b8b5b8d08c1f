package main

import "golang.org/x/sys/unix"

// keepCtrlDForEditor turns off the terminal's end-of-file character while
// the shell runs, and returns what puts it back. The line editor reads
// in raw mode only while a line is typed; a Ctrl-D typed while a statement
// runs (the terminal cooked) would otherwise reach the editor's reader as
// an end of file, which stops that reader for good and leaves the next
// prompt deaf. Off, Ctrl-D is an ordinary character that the next prompt
// reads, and it leaves the shell as it does at any prompt.
func keepCtrlDForEditor(fd int) (restore func()) {
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return func() {}
	}
	t := *old
	t.Cc[unix.VEOF] = 0 // _POSIX_VDISABLE
	if unix.IoctlSetTermios(fd, unix.TCSETS, &t) != nil {
		return func() {}
	}
	return func() { unix.IoctlSetTermios(fd, unix.TCSETS, old) }
}
