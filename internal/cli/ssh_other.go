//go:build !unix

package cli

import "context"

// watchResize does nothing where there is no SIGWINCH.
func watchResize(context.Context, int, func(cols, rows int)) (stop func()) { return func() {} }
