package agent_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/agent"
	"github.com/gpuaas/gpuaas/internal/agentproto"
	"github.com/gpuaas/gpuaas/internal/allocation"
	"github.com/gpuaas/gpuaas/internal/config"
	"github.com/gpuaas/gpuaas/internal/server/servertest"
	"github.com/gpuaas/gpuaas/internal/store"
)

// appOnHost stands in for the container of every docker allocation: its
// app is an HTTP server in this test process (the engine's part is
// TestAppProxyToContainer's). Everything between the client and the app
// is real: the server, the proxy, the agent connection and the agent.
type appOnHost struct{ addr string }

func (appOnHost) Provision(context.Context, agentproto.Task) error { return nil }
func (appOnHost) Release(context.Context, agentproto.Task) error   { return nil }
func (a appOnHost) DialApp(ctx context.Context, _ uuid.UUID, _ int) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "tcp", a.addr)
}

// TestAppProxyStreams: websockets and server-sent events pass through the
// proxy unbuffered (each event arrives before the app sends the next), and
// the same holds through another replica (which relays the agent's
// stream), and a launchable that keeps its prefix (Jupyter) sees its whole path, the
// browser's Host and its own token.
func TestAppProxyStreams(t *testing.T) {
	t.Parallel()
	next := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		for {
			typ, msg, err := c.Read(r.Context())
			if err != nil {
				return
			}
			if err := c.Write(r.Context(), typ, append([]byte("echo "), msg...)); err != nil {
				return
			}
		}
	})
	mux.HandleFunc("/events", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := 1; i <= 3; i++ {
			fmt.Fprintf(w, "data: %d\n\n", i)
			w.(http.Flusher).Flush()
			select {
			case <-next:
			case <-r.Context().Done():
				return
			}
		}
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "path=%s host=%s auth=%s prefix=%s", r.URL.Path, r.Host, r.Header.Get("Authorization"), r.Header.Get("X-Forwarded-Prefix"))
	})
	app := httptest.NewServer(mux)
	t.Cleanup(app.Close)

	env := servertest.Start(t, func(c *config.Server) { c.Runtime = "agent"; c.HeartbeatInterval = 200 * time.Millisecond })
	node, jt := env.H200Node(t, "h200-host")
	ag := start(agent.Config{Server: env.URL, JoinToken: jt, DataDir: t.TempDir(), Runtime: "sim,docker",
		Runtimes: []string{agentproto.RuntimeProcess, agentproto.RuntimeDocker}, Version: "test", Discoverer: h200(t),
		NodeRuntime: agent.MultiRuntime{Process: agent.SimRuntime{}, Docker: appOnHost{addr: app.Listener.Addr().String()}},
		MaxBackoff:  200 * time.Millisecond})
	t.Cleanup(func() { ag.stop(t) })
	eventually(t, 10*time.Second, "node online", func() bool {
		n, err := env.App.Inventory.GetNode(ctx, node.Id)
		return err == nil && n.Status == api.NodeStatusOnline
	})
	env.Fund(t, 100_000)
	u := env.NewUser("user")
	owner, pair := env.Login(u)
	create := func(spec allocation.Spec) api.Allocation {
		var a api.Allocation
		err := env.App.Store.InTx(ctx, func(tx *store.Store) error {
			var err error
			a, err = env.App.Allocations.CreateIn(ctx, tx, u.Id, allocation.CreateRequest{SKUID: "h200-x1", Container: &spec})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return waitAllocation(t, owner, a, api.AllocationStatusActive)
	}
	a := create(allocation.Spec{Launchable: "container", Image: "ci/app:1", Ports: []agentproto.ContainerPort{{Name: "web", Port: 80}}})
	base := env.URL + "/apps/" + a.Id.String() + "/web"
	auth := http.Header{"Authorization": {"Bearer " + pair.AccessToken}}

	// A websocket, both ways.
	wsURL := "ws" + strings.TrimPrefix(base, "http") + "/ws"
	c, _, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{HTTPHeader: auth})
	if err != nil {
		t.Fatalf("websocket through the proxy: %v", err)
	}
	for i := 0; i < 3; i++ {
		msg := fmt.Sprintf("hello %d", i)
		if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		_, got, err := c.Read(ctx)
		if err != nil || string(got) != "echo "+msg {
			t.Fatalf("websocket echo %q, %v", got, err)
		}
	}
	c.Close(websocket.StatusNormalClosure, "")

	// Through another replica, which relays the stream from the one that
	// holds the agent's session: a request and a websocket.
	b := servertest.StartReplica(t, env)
	bBase := b.URL + "/apps/" + a.Id.String() + "/web"
	req, _ := http.NewRequestWithContext(ctx, "GET", bBase+"/hello", nil)
	req.Header = auth.Clone()
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("through another replica: %v %v", resp, err)
	} else {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.HasPrefix(string(body), "path=/hello ") {
			t.Errorf("through another replica: %q", body)
		}
	}
	cb, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(bBase, "http")+"/ws", &websocket.DialOptions{HTTPHeader: auth})
	if err != nil {
		t.Fatalf("websocket through another replica: %v", err)
	}
	if err := cb.Write(ctx, websocket.MessageText, []byte("relayed")); err != nil {
		t.Fatal(err)
	}
	if _, got, err := cb.Read(ctx); err != nil || string(got) != "echo relayed" {
		t.Fatalf("relayed websocket echo %q, %v", got, err)
	}
	cb.Close(websocket.StatusNormalClosure, "")

	// Server-sent events arrive one by one.
	req, _ = http.NewRequestWithContext(ctx, "GET", base+"/events", nil)
	req.Header = auth.Clone()
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("events: %v %v", resp, err)
	}
	defer resp.Body.Close()
	lines := bufio.NewReader(resp.Body)
	for i := 1; i <= 3; i++ {
		got := make(chan string, 1)
		go func() { l, _ := lines.ReadString('\n'); _, _ = lines.ReadString('\n'); got <- l }()
		select {
		case l := <-got:
			if l != fmt.Sprintf("data: %d\n", i) {
				t.Fatalf("event %d: %q", i, l)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("event %d held back by the proxy", i)
		}
		if i < 3 {
			next <- struct{}{}
		}
	}

	// Stripped by default; Jupyter keeps its prefix and gets its token.
	get := func(url string) string {
		req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
		req.Header = auth.Clone()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	host := strings.TrimPrefix(env.URL, "http://")
	if got, want := get(base+"/x/y%2Fz?q=1"), "path=/x/y/z host="+host+" auth= prefix=/apps/"+a.Id.String()+"/web"; got != want {
		t.Errorf("stripped: %q, want %q", got, want)
	}
	// The node has one GPU: give it back for the next app.
	if _, err := owner.ReleaseAllocation(ctx, a.Id); err != nil {
		t.Fatal(err)
	}
	waitAllocation(t, owner, a, api.AllocationStatusReleased)
	j := create(allocation.Spec{Launchable: "jupyter", Image: "ci/jupyter:1", Ports: []agentproto.ContainerPort{{Name: "lab", Port: 8888}},
		SecretEnv: map[string]string{"JUPYTER_TOKEN": "tok-123"}})
	jbase := env.URL + "/apps/" + j.Id.String() + "/lab"
	if got, want := get(jbase+"/tree"), "path=/apps/"+j.Id.String()+"/lab/tree host="+host+" auth=token tok-123 prefix=/apps/"+j.Id.String()+"/lab"; got != want {
		t.Errorf("jupyter: %q, want %q", got, want)
	}
}
