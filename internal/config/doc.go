// Package config owns how settings reach the binary: every flag --foo-bar
// has the environment twin GPUAAS_FOO_BAR, a flag given on the command line
// wins over the environment, and a bad value fails at start with a message
// that names the setting. It knows nothing of what the settings mean beyond
// parsing and validating them.
package config
