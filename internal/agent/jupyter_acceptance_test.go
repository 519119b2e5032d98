package agent_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
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

// jupyterImage is what scripts/ensure-services.sh builds offline from
// Debian's python3-notebook: the classic Notebook 6.4, not JupyterLab.
const jupyterImage = "ci/jupyter:latest"

// TestJupyterThroughProxy: the jupyter launchable on a real engine, with
// the offline Notebook 6.4 image. The ticket URL signs the browser in and
// lands in the notebook UI; the Jupyter REST API starts a kernel, and code
// runs over the kernel's websocket, all through /apps/… without the user
// ever seeing Jupyter's token.
func TestJupyterThroughProxy(t *testing.T) {
	t.Parallel()
	host := dockertest.Host(t)
	cli, err := client.NewClientWithOpts(client.WithHost(host), client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	if _, err := cli.ImageInspect(ctx, jupyterImage); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("image %s is missing in CI (scripts/ensure-services.sh docker builds it): %v", jupyterImage, err)
		}
		t.Skipf("image %s is missing (scripts/ensure-services.sh docker builds it): %v", jupyterImage, err)
	}
	drt, err := docker.New(ctx, host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { drt.Close() })
	drt.StopTimeout = time.Second
	drt.Scope = "test-" + uuid.NewString()

	env := servertest.Start(t, func(c *config.Server) {
		c.Runtime = "agent"
		c.HeartbeatInterval = 200 * time.Millisecond
		c.ImageAllow = config.StringList{"ci/*"}
	})
	node, jt := env.H200Node(t, "h200-host")
	_, err = env.App.Store.Pool().Exec(ctx, `UPDATE skus SET vcpu = 2, memory_mib = 1024 WHERE id = 'h200-x1'`)
	if err != nil {
		t.Fatal(err)
	}
	ag := start(agent.Config{Server: env.URL, JoinToken: jt, DataDir: t.TempDir(), Runtime: "sim,docker",
		Runtimes: []string{agentproto.RuntimeProcess, agentproto.RuntimeDocker}, Version: "test", Discoverer: h200(t),
		NodeRuntime: agent.MultiRuntime{Process: agent.SimRuntime{}, Docker: agent.DockerRuntime{RT: drt}},
		MaxBackoff:  200 * time.Millisecond})
	t.Cleanup(func() { ag.stop(t) })
	eventually(t, 10*time.Second, "node online", func() bool {
		n, err := env.App.Inventory.GetNode(ctx, node.Id)
		return err == nil && n.Status == api.NodeStatusOnline
	})
	env.Fund(t, 100_000)
	u := env.NewUser("user")
	owner, pair := env.Login(u)
	params := map[string]string{"image": jupyterImage}
	a, err := owner.CreateAllocation(ctx, api.CreateAllocationRequest{SkuId: "h200-x1",
		Workload: &api.WorkloadRequest{Launchable: "jupyter", Params: &params}}, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = drt.Release(ctx, a.Id) })
	a = waitAllocation(t, owner, a, api.AllocationStatusActive)
	if a.Apps == nil || len(*a.Apps) != 1 || (*a.Apps)[0].Name != "lab" {
		t.Fatalf("apps %+v", a.Apps)
	}
	base := env.URL + "/apps/" + a.Id.String() + "/lab"

	// The browser: a ticket, then everything with the cookie it set.
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: 20 * time.Second}
	req, _ := http.NewRequestWithContext(ctx, "POST", env.URL+"/api/v1/allocations/"+a.Id.String()+"/apps/lab/ticket", nil)
	req.Header.Set("Authorization", "Bearer "+pair.AccessToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("ticket: %v %v", resp, err)
	}
	var tk api.AppTicket
	_ = json.NewDecoder(resp.Body).Decode(&tk)
	resp.Body.Close()
	// The notebook server takes a few seconds to start: until then the
	// proxy answers 502 app_unavailable. The ticket is spent on its first
	// use, so it is used once the app answers (through the bearer).
	eventually(t, 60*time.Second, "notebook answering", func() bool {
		req, _ := http.NewRequestWithContext(ctx, "GET", base+"/api/status", nil)
		req.Header.Set("Authorization", "Bearer "+pair.AccessToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	eventually(t, 20*time.Second, "the lab app reported ready", func() bool {
		got, err := owner.GetAllocation(ctx, a.Id)
		return err == nil && got.Apps != nil && len(*got.Apps) == 1 && (*got.Apps)[0].Ready
	})
	resp, err = browser.Get(env.URL + tk.Url)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(resp.Request.URL.Path, "/apps/"+a.Id.String()+"/lab/tree") ||
		!strings.Contains(string(page), "Jupyter") {
		t.Fatalf("ticket URL landed at %s: %d\n%.400s", resp.Request.URL, resp.StatusCode, page)
	}

	// The REST API starts a kernel (a POST: Jupyter takes the proxy's
	// token in place of its XSRF cookie).
	resp, err = browser.Post(base+"/api/kernels", "application/json", strings.NewReader(`{"name":"python3"}`))
	if err != nil {
		t.Fatal(err)
	}
	var kernel struct{ ID string }
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 201 || json.Unmarshal(body, &kernel) != nil || kernel.ID == "" {
		t.Fatalf("start kernel: %d %s", resp.StatusCode, body)
	}

	// Code runs over the kernel's websocket, with the browser's cookie.
	u2, _ := http.NewRequest("GET", base+"/", nil)
	hdr := http.Header{"Origin": {env.URL}}
	for _, c := range jar.Cookies(u2.URL) {
		hdr.Add("Cookie", c.Name+"="+c.Value)
	}
	wsURL := "ws" + strings.TrimPrefix(base, "http") + "/api/kernels/" + kernel.ID + "/channels?session_id=" + uuid.NewString()
	ws, _, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{HTTPHeader: hdr})
	if err != nil {
		t.Fatalf("kernel websocket: %v", err)
	}
	defer ws.CloseNow()
	ws.SetReadLimit(16 << 20)
	msgID := uuid.NewString()
	exec := map[string]any{
		"header":        map[string]any{"msg_id": msgID, "username": "test", "session": uuid.NewString(), "msg_type": "execute_request", "version": "5.3"},
		"parent_header": map[string]any{}, "metadata": map[string]any{}, "channel": "shell", "buffers": []any{},
		"content": map[string]any{"code": "print(6 * 7)", "silent": false, "store_history": false,
			"user_expressions": map[string]any{}, "allow_stdin": false, "stop_on_error": true},
	}
	b, _ := json.Marshal(exec)
	if err := ws.Write(ctx, websocket.MessageText, b); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if time.Now().After(deadline) {
			t.Fatal("no output from the kernel")
		}
		_, raw, err := ws.Read(ctx)
		if err != nil {
			t.Fatalf("kernel websocket read: %v", err)
		}
		var m struct {
			MsgType      string `json:"msg_type"`
			ParentHeader struct {
				MsgID string `json:"msg_id"`
			} `json:"parent_header"`
			Content struct {
				Text string `json:"text"`
			} `json:"content"`
		}
		if json.Unmarshal(raw, &m) == nil && m.MsgType == "stream" && m.ParentHeader.MsgID == msgID {
			if m.Content.Text != "42\n" {
				t.Fatalf("kernel printed %q", m.Content.Text)
			}
			break
		}
	}
}
