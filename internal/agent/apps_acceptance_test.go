package agent_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"
	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/agent"
	"github.com/gpuaas/gpuaas/internal/agent/runtime/docker"
	"github.com/gpuaas/gpuaas/internal/agent/runtime/docker/dockertest"
	"github.com/gpuaas/gpuaas/internal/agentproto"
	"github.com/gpuaas/gpuaas/internal/config"
	"github.com/gpuaas/gpuaas/internal/server/servertest"
)

// appScript makes a busybox container an HTTP app: httpd serving "ok" at
// /index.html, CGI scripts that print the request's environment (what
// the app was told) and count an upload's bytes.
const appScript = `mkdir -p /www/cgi-bin &&
printf '#!/bin/sh\necho Content-Type: text/plain\necho\nenv\n' > /www/cgi-bin/env &&
printf '#!/bin/sh\necho Content-Type: text/plain\necho\nwc -c | tr -d " "\n' > /www/cgi-bin/count &&
chmod +x /www/cgi-bin/* && { httpd -f -p 8080 -h /www & } && while :; do sleep 3600; done`

// TestAppProxyToContainer: a real control plane, agent and engine. A
// busybox container's HTTP port is reachable at /apps/{id}/web/ for its
// owner (bearer or ticket cookie), with the prefix stripped and announced,
// the platform's credentials removed, and a 20 MiB upload intact; another
// user gets 404, nobody 401, a spent ticket 401; once the app stops
// listening, 502 app_unavailable within seconds; once released, 409.
func TestAppProxyToContainer(t *testing.T) {
	t.Parallel()
	host := dockertest.Host(t)
	drt, err := docker.New(ctx, host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { drt.Close() })
	drt.StopTimeout = time.Second
	drt.Scope = "test-" + uuid.NewString()
	cli, err := client.NewClientWithOpts(client.WithHost(host), client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })

	env := servertest.Start(t, func(c *config.Server) {
		c.Runtime = "agent"
		c.HeartbeatInterval = 200 * time.Millisecond
		c.ImageAllow = config.StringList{"ci/*"}
	})
	node, jt := env.H200Node(t, "h200-host")
	cfg := agent.Config{Server: env.URL, JoinToken: jt, DataDir: t.TempDir(), Runtime: "sim,docker",
		Runtimes: []string{agentproto.RuntimeProcess, agentproto.RuntimeDocker}, Version: "test", Discoverer: h200(t),
		NodeRuntime: agent.MultiRuntime{Process: agent.SimRuntime{}, Docker: agent.DockerRuntime{RT: drt}},
		MaxBackoff:  200 * time.Millisecond}
	ag := start(cfg)
	t.Cleanup(func() { ag.stop(t) })
	eventually(t, 10*time.Second, "node online", func() bool {
		n, err := env.App.Inventory.GetNode(ctx, node.Id)
		return err == nil && n.Status == api.NodeStatusOnline
	})

	env.Fund(t, 100_000)
	u := env.NewUser("user")
	owner, pair := env.Login(u)
	_, otherPair := env.Login(env.NewUser("user"))
	cmd := []string{"sh", "-c", appScript}
	ports := []api.WorkloadPort{{Name: "web", Port: 8080}}
	a, err := owner.CreateAllocation(ctx, api.CreateAllocationRequest{SkuId: "h200-x1", Workload: &api.WorkloadRequest{
		Launchable: "container", Image: ptr(dockertest.Image), Command: &cmd, Ports: &ports}}, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = drt.Release(ctx, a.Id) })
	a = waitAllocation(t, owner, a, api.AllocationStatusActive)
	prefix := "/apps/" + a.Id.String() + "/web"
	if a.Apps == nil || len(*a.Apps) != 1 || (*a.Apps)[0].Url != prefix+"/" || (*a.Apps)[0].Port != 8080 {
		t.Fatalf("apps %+v", a.Apps)
	}

	plain := &http.Client{Timeout: 20 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(method, path, bearer string, body io.Reader, cookies ...*http.Cookie) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, method, env.URL+path, body)
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		for _, c := range cookies {
			req.AddCookie(c)
		}
		resp, err := plain.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	code := func(body string) string {
		var e struct{ Code string }
		_ = json.Unmarshal([]byte(body), &e)
		return e.Code
	}

	// The owner, by bearer, once httpd in the container has started (the
	// allocation is active when the container is, a moment before its app
	// listens; until then the proxy answers 502 app_unavailable).
	var first *http.Response
	var firstBody string
	eventually(t, 10*time.Second, "the app answers its owner", func() bool {
		first, firstBody = get("GET", prefix+"/index.html", pair.AccessToken, nil)
		return first.StatusCode == 200 || code(firstBody) != "app_unavailable"
	})
	if first.StatusCode != 200 || strings.TrimSpace(firstBody) != "ok" {
		t.Fatalf("owner: %d %q", first.StatusCode, firstBody)
	}
	if resp, _ := get("GET", prefix, pair.AccessToken, nil); resp.StatusCode != http.StatusPermanentRedirect || resp.Header.Get("Location") != prefix+"/" {
		t.Errorf("no trailing slash: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	// Anyone else: 404 (the same as no such allocation); nobody: 401.
	if resp, body := get("GET", prefix+"/index.html", otherPair.AccessToken, nil); resp.StatusCode != 404 || code(body) != "not_found" {
		t.Errorf("another user: %d %s", resp.StatusCode, body)
	}
	if resp, body := get("GET", "/apps/"+uuid.NewString()+"/web/", pair.AccessToken, nil); resp.StatusCode != 404 || code(body) != "not_found" {
		t.Errorf("no such allocation: %d %s", resp.StatusCode, body)
	}
	if resp, body := get("GET", prefix+"/index.html", "", nil); resp.StatusCode != 401 {
		t.Errorf("nobody: %d %s", resp.StatusCode, body)
	}
	if resp, _ := get("GET", prefix+"/index.html", "", nil, &http.Cookie{Name: "gpuaas_app", Value: "forged"}); resp.StatusCode != 401 {
		t.Errorf("forged cookie: %d", resp.StatusCode)
	}

	// A ticket: another user's mint is 404, an unknown port 404; the
	// owner's URL sets the app's cookie once and redirects into the app.
	mint := func(bearer, port string) (*http.Response, api.AppTicket) {
		resp, body := get("POST", "/api/v1/allocations/"+a.Id.String()+"/apps/"+port+"/ticket", bearer, nil)
		var tk api.AppTicket
		_ = json.Unmarshal([]byte(body), &tk)
		return resp, tk
	}
	if resp, _ := mint(otherPair.AccessToken, "web"); resp.StatusCode != 404 {
		t.Errorf("another user's ticket: %d", resp.StatusCode)
	}
	if resp, _ := mint(pair.AccessToken, "nope"); resp.StatusCode != 404 {
		t.Errorf("unknown port's ticket: %d", resp.StatusCode)
	}
	resp, tk := mint(pair.AccessToken, "web")
	if resp.StatusCode != 201 || !strings.HasPrefix(tk.Url, "/api/v1/apps/ticket?t=") || time.Until(tk.ExpiresAt) > 61*time.Second {
		t.Fatalf("ticket: %d %+v", resp.StatusCode, tk)
	}
	resp, _ = get("GET", tk.Url, "", nil)
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "gpuaas_app" {
			cookie = c
		}
	}
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != prefix+"/" || cookie == nil ||
		!cookie.HttpOnly || cookie.Path != prefix+"/" {
		t.Fatalf("redeem: %d to %q, cookie %+v", resp.StatusCode, resp.Header.Get("Location"), cookie)
	}
	if resp, _ := get("GET", tk.Url, "", nil); resp.StatusCode != 401 {
		t.Errorf("a spent ticket: %d", resp.StatusCode)
	}
	resp, body := get("GET", prefix+"/cgi-bin/env", "", nil, cookie, &http.Cookie{Name: "mine", Value: "kept"})
	if resp.StatusCode != 200 {
		t.Fatalf("by cookie: %d %s", resp.StatusCode, body)
	}
	for _, want := range []string{"HTTP_X_FORWARDED_PREFIX=" + prefix, "REQUEST_URI=/cgi-bin/env", "HTTP_COOKIE=mine=kept"} {
		if !strings.Contains(body, want) {
			t.Errorf("the app's environment lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "gpuaas_app") || strings.Contains(body, "HTTP_AUTHORIZATION") {
		t.Errorf("the platform's credentials reached the app:\n%s", body)
	}
	// The cookie is this app's only.
	if resp, _ := get("GET", "/apps/"+a.Id.String()+"/other/", "", nil, cookie); resp.StatusCode != 401 {
		t.Errorf("cookie on another port: %d", resp.StatusCode)
	}

	// A 20 MiB upload arrives whole.
	big := bytes.Repeat([]byte("0123456789abcdef"), 20<<20/16)
	if resp, body := get("POST", prefix+"/cgi-bin/count", pair.AccessToken, bytes.NewReader(big)); resp.StatusCode != 200 ||
		strings.TrimSpace(body) != fmt.Sprint(len(big)) {
		t.Errorf("upload: %d %q, want %d bytes", resp.StatusCode, body, len(big))
	}

	// The port the engine published, which must be gone after release.
	ct, err := cli.ContainerInspect(ctx, docker.Name(a.Id))
	if err != nil {
		t.Fatal(err)
	}
	var published string
	for _, b := range ct.NetworkSettings.Ports["8080/tcp"] {
		published = net.JoinHostPort(b.HostIP, b.HostPort)
	}
	if !strings.HasPrefix(published, "127.0.0.1:") {
		t.Fatalf("published %q, want a loopback port", published)
	}
	// The app stops listening (the container goes on): 502 within seconds.
	execKill(t, cli, docker.Name(a.Id), "killall", "httpd")
	start := time.Now()
	resp, body = get("GET", prefix+"/index.html", pair.AccessToken, nil)
	if resp.StatusCode != http.StatusBadGateway || code(body) != "app_unavailable" || time.Since(start) > 8*time.Second {
		t.Errorf("app not listening: %d %s after %s", resp.StatusCode, body, time.Since(start))
	}

	// Released: the app is gone, and so is its published port.
	if _, err := owner.ReleaseAllocation(ctx, a.Id); err != nil {
		t.Fatal(err)
	}
	waitAllocation(t, owner, a, api.AllocationStatusReleased)
	assertNoDocker(t, cli, a.Id)
	if c, err := net.DialTimeout("tcp", published, time.Second); err == nil {
		c.Close()
		t.Errorf("the released container's port %s still answers", published)
	}
	eventually(t, 10*time.Second, "a released allocation's app is refused", func() bool {
		resp, body := get("GET", prefix+"/index.html", pair.AccessToken, nil)
		return resp.StatusCode == 409 && code(body) == "invalid_state"
	})
}

func execKill(t *testing.T, cli *client.Client, name string, cmd ...string) {
	t.Helper()
	ex, err := cli.ContainerExecCreate(ctx, name, container.ExecOptions{Cmd: cmd})
	if err != nil {
		t.Fatal(err)
	}
	if err := cli.ContainerExecStart(ctx, ex.ID, container.ExecStartOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "exec done", func() bool {
		in, err := cli.ContainerExecInspect(ctx, ex.ID)
		return err == nil && !in.Running
	})
}

func ptr[T any](v T) *T { return &v }
