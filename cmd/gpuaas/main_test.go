package main

import (
	"bytes"
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/gpuaas/gpuaas/internal/config"
	"github.com/gpuaas/gpuaas/internal/devenv"
)

// TestConfigurationDocListsEveryFlag keeps docs/configuration.md honest: a
// flag added to server, dev or migrate must be documented with its twin.
func TestConfigurationDocListsEveryFlag(t *testing.T) {
	doc, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	sets := map[string]func(*config.Server, *flag.FlagSet){
		"server": (*config.Server).Register, "dev": devenv.Register, "migrate": registerMigrate,
	}
	for name, register := range sets {
		fs := flag.NewFlagSet(name, flag.ContinueOnError)
		cfg := config.DefaultServer()
		register(&cfg, fs)
		fs.VisitAll(func(f *flag.Flag) {
			row := "| `--" + f.Name + "` | `" + config.EnvName(f.Name) + "` |"
			if !bytes.Contains(doc, []byte(row)) {
				t.Errorf("docs/configuration.md has no row %q for gpuaas %s", row, name)
			}
		})
	}
}

func runArgs(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestDispatch(t *testing.T) {
	if code, out, _ := runArgs("version"); code != 0 || out != "gpuaas dev\n" {
		t.Errorf("version: %d %q", code, out)
	}
	if code, out, _ := runArgs("help"); code != 0 || !strings.Contains(out, "server") || !strings.Contains(out, "skus") {
		t.Errorf("help: %d %q", code, out)
	}
	if code, _, errOut := runArgs(); code != 2 || !strings.Contains(errOut, "usage: gpuaas") {
		t.Errorf("no args: %d %q", code, errOut)
	}
	if code, _, errOut := runArgs("frobnicate"); code != 2 || !strings.Contains(errOut, `unknown command "frobnicate"`) {
		t.Errorf("unknown: %d %q", code, errOut)
	}
}

func TestHelpShowsEnvTwins(t *testing.T) {
	for _, cmd := range []string{"server", "dev", "migrate"} {
		code, out, _ := runArgs(cmd, "--help")
		if code != 0 || !strings.Contains(out, "[GPUAAS_DATABASE_URL]") {
			t.Errorf("%s --help: %d %q", cmd, code, out)
		}
	}
}

func TestBadConfigNamesTheSetting(t *testing.T) {
	t.Setenv("GPUAAS_API_RATE", "")
	cases := [][]string{
		{"server", "--listen", "nohost", "--secret-key-file", "/k"},
		{"server", "--log-format", "xml", "--secret-key-file", "/k"},
		{"server", "--secret-key-file", ""},
		{"dev", "--log-level", "loud"},
		{"migrate", "--database-url", "mysql://x"},
	}
	wants := []string{"--listen (GPUAAS_LISTEN)", "--log-format (GPUAAS_LOG_FORMAT)", "--secret-key-file (GPUAAS_SECRET_KEY_FILE)",
		"--log-level (GPUAAS_LOG_LEVEL)", "--database-url (GPUAAS_DATABASE_URL)"}
	for i, args := range cases {
		code, _, errOut := runArgs(args...)
		if code != 2 || !strings.Contains(errOut, wants[i]) {
			t.Errorf("%v: exit %d, %q; want 2 naming %s", args, code, errOut, wants[i])
		}
	}
	t.Setenv("GPUAAS_API_RATE", "fast")
	if code, _, errOut := runArgs("server"); code != 2 || !strings.Contains(errOut, "GPUAAS_API_RATE") {
		t.Errorf("bad env twin: exit %d, %q", code, errOut)
	}
}
