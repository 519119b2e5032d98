package launchable

import (
	"bytes"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/agentproto"
	"github.com/gpuaas/gpuaas/internal/apperr"
)

// Error codes of this package.
const (
	CodeImageNotAllowed = "image_not_allowed"
)

// Shell is the launchable of an allocation that names none.
const Shell = "shell"

//go:embed manifests/*.yaml
var embedded embed.FS

// Manifest is one launchable as its YAML file describes it.
type Manifest struct {
	ID          string `yaml:"id"`
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	// Runtime is process (no image) or docker.
	Runtime string `yaml:"runtime"`
	// Image is the default image; UserImage launchables have none.
	Image   string            `yaml:"image"`
	Command []string          `yaml:"command"`
	Env     map[string]string `yaml:"env"`
	Ports   []Port            `yaml:"ports"`
	Health  *Health           `yaml:"health"`
	// KeepPrefix: the app is served under its /apps/… path (started with
	// that base URL) rather than at /.
	KeepPrefix bool `yaml:"keep_prefix"`
	// TokenEnv names the variable that receives a token the platform
	// generates for the app (sealed at rest; the proxy supplies it).
	TokenEnv string `yaml:"token_env"`
	// UserImage: the user names the image, command, env and ports (the
	// container launchable).
	UserImage bool    `yaml:"user_image"`
	Params    []Param `yaml:"params"`
}

// Port is a port a launchable's app serves.
type Port struct {
	Name     string `yaml:"name"`
	Port     int    `yaml:"port"`
	Protocol string `yaml:"protocol"` // http (default) or tcp
}

// Health is where a launchable's readiness is probed.
type Health struct {
	Port int    `yaml:"port"`
	Path string `yaml:"path"`
}

// Param is a value the user passes in workload.params.
type Param struct {
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	Required    bool   `yaml:"required"`
	Secret      bool   `yaml:"secret"`
	// Target is where the value goes: "image" (it replaces the image and
	// must pass --image-allow) or "env:NAME".
	Target string `yaml:"target"`
}

// Catalogue is the set of launchables, in id order with shell first.
type Catalogue struct {
	byID  map[string]Manifest
	order []string
	allow []string
}

// Load reads the embedded manifests, then dir's (*.yaml; empty dir: none),
// which replace embedded ones of the same id. allow are the --image-allow
// patterns. A manifest that does not parse or check is an error naming
// its file.
func Load(dir string, allow []string) (*Catalogue, error) {
	c := &Catalogue{byID: map[string]Manifest{}, allow: allow}
	if err := c.loadFS(embedded, "manifests"); err != nil {
		return nil, err
	}
	if dir != "" {
		if err := c.loadFS(os.DirFS(dir), "."); err != nil {
			return nil, fmt.Errorf("launchables dir %s: %w", dir, err)
		}
	}
	if _, ok := c.byID[Shell]; !ok {
		return nil, errors.New("launchables: the shell launchable is missing")
	}
	for id := range c.byID {
		c.order = append(c.order, id)
	}
	sort.Slice(c.order, func(i, j int) bool {
		a, b := c.order[i], c.order[j]
		if (a == Shell) != (b == Shell) {
			return a == Shell
		}
		return a < b
	})
	return c, nil
}

func (c *Catalogue) loadFS(fsys fs.FS, dir string) error {
	names, err := fs.Glob(fsys, path.Join(dir, "*.yaml"))
	if err != nil {
		return err
	}
	for _, name := range names {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		var m Manifest
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)
		if err := dec.Decode(&m); err != nil {
			return fmt.Errorf("manifest %s: %w", filepath.Base(name), err)
		}
		if err := m.check(); err != nil {
			return fmt.Errorf("manifest %s: %w", filepath.Base(name), err)
		}
		c.byID[m.ID] = m
	}
	return nil
}

var (
	idRE       = regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}$`)
	portNameRE = regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}$`)
	envKeyRE   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,127}$`)
)

func (m Manifest) check() error {
	if !idRE.MatchString(m.ID) {
		return fmt.Errorf("id %q: want 1 to 32 of a-z 0-9 -, starting with a letter", m.ID)
	}
	if m.Name == "" {
		return errors.New("name is required")
	}
	switch m.Runtime {
	case agentproto.RuntimeProcess:
		if m.Image != "" || m.UserImage || len(m.Ports) > 0 || len(m.Params) > 0 {
			return errors.New("a process launchable has no image, ports or params")
		}
	case agentproto.RuntimeDocker:
		if (m.Image == "") == !m.UserImage {
			return errors.New("a docker launchable has either an image or user_image: true")
		}
	default:
		return fmt.Errorf("runtime %q: want process or docker", m.Runtime)
	}
	if err := checkPorts(m.Ports); err != nil {
		return err
	}
	if m.Health != nil && (m.Health.Port < 1 || m.Health.Port > 65535 || !strings.HasPrefix(m.Health.Path, "/")) {
		return errors.New("health: want a port and a path starting with /")
	}
	if m.TokenEnv != "" && !envKeyRE.MatchString(m.TokenEnv) {
		return fmt.Errorf("token_env %q is not a variable name", m.TokenEnv)
	}
	for _, p := range m.Params {
		if !idRE.MatchString(p.Name) {
			return fmt.Errorf("param name %q", p.Name)
		}
		env, isEnv := strings.CutPrefix(p.Target, "env:")
		switch {
		case p.Target == "image":
			if p.Secret {
				return fmt.Errorf("param %s: an image is not a secret", p.Name)
			}
		case isEnv && envKeyRE.MatchString(env) && !platformEnv(env):
		default:
			return fmt.Errorf("param %s: target %q: want image or env:NAME (not a platform variable)", p.Name, p.Target)
		}
	}
	return nil
}

func checkPorts(ports []Port) error {
	names, nums := map[string]bool{}, map[int]bool{}
	for _, p := range ports {
		if !portNameRE.MatchString(p.Name) || names[p.Name] {
			return fmt.Errorf("port name %q: want 1 to 32 of a-z 0-9 -, starting with a letter, unique", p.Name)
		}
		if p.Port < 1 || p.Port > 65535 || nums[p.Port] {
			return fmt.Errorf("port %d: want 1 to 65535, unique", p.Port)
		}
		if p.Protocol != "" && p.Protocol != "http" && p.Protocol != "tcp" {
			return fmt.Errorf("port %s: protocol %q: want http or tcp", p.Name, p.Protocol)
		}
		names[p.Name], nums[p.Port] = true, true
	}
	return nil
}

// platformEnv says whether key is a variable the platform sets itself.
func platformEnv(key string) bool {
	k := strings.ToUpper(key)
	return strings.HasPrefix(k, "NVIDIA_") || strings.HasPrefix(k, "GPUAAS_") || k == "CUDA_VISIBLE_DEVICES"
}

// Get returns the launchable id.
func (c *Catalogue) Get(id string) (Manifest, bool) {
	m, ok := c.byID[id]
	return m, ok
}

// Health is where launchable id's readiness is probed; nil when it names
// none (each port is then ready once it accepts a connection) or there is
// no such launchable.
func (c *Catalogue) Health(id string) *agentproto.Health {
	m, ok := c.byID[id]
	if !ok || m.Health == nil {
		return nil
	}
	return &agentproto.Health{Port: m.Health.Port, Path: m.Health.Path}
}

// List renders the catalogue for GET /api/v1/launchables.
func (c *Catalogue) List() api.LaunchableList {
	out := api.LaunchableList{Items: make([]api.Launchable, 0, len(c.order))}
	for _, id := range c.order {
		out.Items = append(out.Items, c.byID[id].toAPI())
	}
	return out
}

func (m Manifest) toAPI() api.Launchable {
	l := api.Launchable{Id: m.ID, Name: m.Name, Description: m.Description, Runtime: api.LaunchableRuntime(m.Runtime),
		Image: m.Image, Ports: []api.LaunchablePort{}, Params: []api.LaunchableParam{}}
	for _, p := range m.Ports {
		l.Ports = append(l.Ports, api.LaunchablePort{Name: p.Name, Port: p.Port, Protocol: api.LaunchablePortProtocol(protocol(p.Protocol))})
	}
	if m.Health != nil {
		l.Health = &api.LaunchableHealth{Port: m.Health.Port, Path: m.Health.Path}
	}
	for _, p := range m.Params {
		l.Params = append(l.Params, api.LaunchableParam{Name: p.Name, Description: p.Description, Required: p.Required, Secret: p.Secret})
	}
	return l
}

func protocol(p string) string {
	if p == "" {
		return "http"
	}
	return p
}

// Limits on what a user may pass.
const (
	maxCommandArgs = 64
	maxArgBytes    = 4096
	maxEnvVars     = 64
	maxEnvBytes    = 32 << 10
	maxPorts       = 16
	maxImageBytes  = 512
	maxParamBytes  = 4096
)

// Resolved is a workload request checked against its launchable.
type Resolved struct {
	Launchable string
	Runtime    string
	Image      string
	Command    []string
	// Env holds the variables that are not secret; SecretEnv those that
	// are (secret params, the platform's app token), to be sealed before
	// they are stored.
	Env       map[string]string
	SecretEnv map[string]string
	Ports     []agentproto.ContainerPort
	// Params are the values of the params that are not secret, to show.
	Params map[string]string
}

// invalid is a 400 that names the field, in the message and in
// details.field.
func invalid(field, format string, args ...any) *apperr.Error {
	e := apperr.Invalid("%s: %s", field, fmt.Sprintf(format, args...))
	e.Details = map[string]any{"field": field}
	return e
}

// Resolve checks req (nil: the shell launchable) and answers what the
// allocation runs.
func (c *Catalogue) Resolve(req *api.WorkloadRequest) (Resolved, error) {
	if req == nil {
		return Resolved{Launchable: Shell, Runtime: agentproto.RuntimeProcess}, nil
	}
	m, ok := c.byID[req.Launchable]
	if !ok {
		return Resolved{}, invalid("workload.launchable", "unknown launchable %q (see GET /api/v1/launchables)", truncate(req.Launchable, 64))
	}
	r := Resolved{Launchable: m.ID, Runtime: m.Runtime, Env: map[string]string{}, SecretEnv: map[string]string{}, Params: map[string]string{}}
	if !m.UserImage {
		for field, set := range map[string]bool{"workload.image": req.Image != nil, "workload.command": req.Command != nil,
			"workload.env": req.Env != nil, "workload.ports": req.Ports != nil} {
			if set {
				return Resolved{}, invalid(field, "the %s launchable does not take it (only container does)", m.ID)
			}
		}
	}
	if m.Runtime == agentproto.RuntimeProcess {
		if req.Params != nil && len(*req.Params) > 0 {
			return Resolved{}, invalid("workload.params", "the %s launchable takes no params", m.ID)
		}
		return Resolved{Launchable: m.ID, Runtime: m.Runtime}, nil
	}
	r.Image, r.Command = m.Image, append([]string(nil), m.Command...)
	for k, v := range m.Env {
		r.Env[k] = v
	}
	for _, p := range m.Ports {
		r.Ports = append(r.Ports, agentproto.ContainerPort{Name: p.Name, Port: p.Port, Protocol: protocol(p.Protocol)})
	}
	if m.UserImage {
		if err := c.userContainer(req, &r); err != nil {
			return Resolved{}, err
		}
	}
	if err := c.params(m, req, &r); err != nil {
		return Resolved{}, err
	}
	if m.TokenEnv != "" {
		r.SecretEnv[m.TokenEnv] = token()
	}
	return r, nil
}

// userContainer takes the container launchable's image, command, env and
// ports from req.
func (c *Catalogue) userContainer(req *api.WorkloadRequest, r *Resolved) error {
	if req.Image == nil || strings.TrimSpace(*req.Image) == "" {
		return invalid("workload.image", "required for the container launchable")
	}
	if err := c.allowImage("workload.image", *req.Image); err != nil {
		return err
	}
	r.Image = *req.Image
	if req.Command != nil {
		if len(*req.Command) > maxCommandArgs {
			return invalid("workload.command", "at most %d arguments", maxCommandArgs)
		}
		for i, a := range *req.Command {
			if len(a) > maxArgBytes || strings.ContainsRune(a, 0) {
				return invalid(fmt.Sprintf("workload.command[%d]", i), "at most %d bytes, no NUL", maxArgBytes)
			}
		}
		r.Command = append([]string(nil), *req.Command...)
	}
	if req.Env != nil {
		env := *req.Env
		if len(env) > maxEnvVars {
			return invalid("workload.env", "at most %d variables", maxEnvVars)
		}
		total := 0
		keys := make([]string, 0, len(env))
		for k := range env {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			v := env[k]
			field := "workload.env." + truncate(k, 64)
			if !envKeyRE.MatchString(k) {
				return invalid(field, "a variable name is [A-Za-z_][A-Za-z0-9_]*, at most 128 characters")
			}
			if platformEnv(k) {
				return invalid(field, "%s is set by the platform (NVIDIA_*, CUDA_VISIBLE_DEVICES and GPUAAS_* are)", k)
			}
			if strings.ContainsRune(v, 0) {
				return invalid(field, "a value holds no NUL")
			}
			total += len(k) + len(v) + 2
			r.Env[k] = v
		}
		if total > maxEnvBytes {
			return invalid("workload.env", "at most %d bytes in all, got %d", maxEnvBytes, total)
		}
	}
	if req.Ports != nil {
		if len(*req.Ports) > maxPorts {
			return invalid("workload.ports", "at most %d ports", maxPorts)
		}
		names, nums := map[string]bool{}, map[int]bool{}
		for i, p := range *req.Ports {
			field := fmt.Sprintf("workload.ports[%d]", i)
			if !portNameRE.MatchString(p.Name) || names[p.Name] {
				return invalid(field+".name", "want 1 to 32 of a-z 0-9 -, starting with a letter, unique in the workload")
			}
			if p.Port < 1 || p.Port > 65535 || nums[p.Port] {
				return invalid(field+".port", "want 1 to 65535, unique in the workload, got %d", p.Port)
			}
			proto := "http"
			if p.Protocol != nil {
				proto = string(*p.Protocol)
				if proto != "http" && proto != "tcp" {
					return invalid(field+".protocol", "want http or tcp")
				}
			}
			names[p.Name], nums[p.Port] = true, true
			r.Ports = append(r.Ports, agentproto.ContainerPort{Name: p.Name, Port: p.Port, Protocol: proto})
		}
	}
	return nil
}

// params applies req's params to r as m declares them.
func (c *Catalogue) params(m Manifest, req *api.WorkloadRequest, r *Resolved) error {
	given := map[string]string{}
	if req.Params != nil {
		given = *req.Params
	}
	declared := map[string]Param{}
	for _, p := range m.Params {
		declared[p.Name] = p
	}
	names := make([]string, 0, len(given))
	for k := range given {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if _, ok := declared[k]; !ok {
			return invalid("workload.params."+truncate(k, 64), "the %s launchable has no such param", m.ID)
		}
	}
	for _, p := range m.Params {
		v, ok := given[p.Name]
		field := "workload.params." + p.Name
		if !ok || v == "" {
			if p.Required {
				return invalid(field, "required by the %s launchable", m.ID)
			}
			continue
		}
		if len(v) > maxParamBytes || strings.ContainsRune(v, 0) {
			return invalid(field, "at most %d bytes, no NUL", maxParamBytes)
		}
		if p.Target == "image" {
			if err := c.allowImage(field, v); err != nil {
				return err
			}
			r.Image = v
		} else if env, _ := strings.CutPrefix(p.Target, "env:"); p.Secret {
			r.SecretEnv[env] = v
		} else {
			r.Env[env] = v
		}
		if !p.Secret {
			r.Params[p.Name] = v
		}
	}
	return nil
}

// allowImage applies --image-allow to an image the user names.
func (c *Catalogue) allowImage(field, image string) error {
	if len(image) > maxImageBytes || strings.ContainsAny(image, " \t\r\n\x00") {
		return invalid(field, "not an image reference")
	}
	for _, pat := range c.allow {
		if ok, _ := path.Match(pat, image); ok {
			return nil
		}
	}
	e := apperr.InvalidCode(CodeImageNotAllowed, "%s: image %q is not allowed here (the operator's --image-allow patterns do not match it)", field, truncate(image, 128))
	e.Details = map[string]any{"field": field}
	return e
}

// token is a fresh app token: 32 random bytes in hex.
func token() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand never fails on Linux
	return hex.EncodeToString(b)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
