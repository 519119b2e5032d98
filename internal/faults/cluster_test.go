//go:build linux

package faults_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/inventory"
	"github.com/gpuaas/gpuaas/internal/proctest"
	"github.com/gpuaas/gpuaas/internal/store"
	"github.com/gpuaas/gpuaas/sdk"
)

// Timings of the control plane under test: short, so that a node goes
// offline, a stuck allocation is retried and a window is metered within
// seconds.
const (
	heartbeatInterval = 500 * time.Millisecond // offline after 3 missed: 1.5 s
	releaseDeadline   = 20 * time.Second       // unconfirmed this long: release_failed (and still retried)
	nodeLostGrace     = 20 * time.Second       // offline this long (control plane up): node_lost; well past a node_loss fault's downtime (at most 5.5 s plus the agent's reconnect)
	provisionDeadline = 3 * time.Second        // reconciler: 3 retries, then failed / release_failed
	meterSeconds      = 2                      // billing.meter_interval_seconds
	adminPassword     = "faults admin password, long enough"
	userPassword      = "faults user password, long enough"

	skuCheap = "h200-x1"   // everyday allocations
	skuDear  = "h200-dear" // the depletion user's: credit runs out in seconds
	// dearPrice burns 100 minor units a second, so the depletion user's
	// credit lasts about depletionCredit/100 s.
	dearPrice       = 360_000
	depletionCredit = 1_500
)

// cluster is everything the suite runs and kills.
type cluster struct {
	t *testing.T
	// gpusPerNode is each node's GPU count. Allocations that end in
	// release_failed keep their GPUs, so the long form needs more of
	// them for its workload not to run out of capacity.
	gpusPerNode int
	dir         string
	bin         string
	pg          *postgres
	nats        *natsServer
	redis       *redisServer
	servers     []*daemon
	agents      []*agentProc
	lb          *balancer
	dbURL       string
	admin       *sdk.Client
	st          *store.Store // the harness's own connection, for checks
}

type agentProc struct {
	*daemon
	nodeID   uuid.UUID
	hostname string
}

func startCluster(ctx context.Context, t *testing.T, pgBin string, replicas, nodes, gpusPerNode int) *cluster {
	t.Helper()
	dir := t.TempDir()
	c := &cluster{t: t, dir: dir, gpusPerNode: gpusPerNode}
	began := time.Now()
	c.bin = proctest.BuildGPUaaS(t, dir)
	t.Logf("setup: built gpuaas in %s", time.Since(began).Round(100*time.Millisecond))
	c.pg = startPostgres(ctx, t, pgBin)
	c.dbURL = c.pg.url("gpuaas")
	t.Logf("setup: postgres up after %s", time.Since(began).Round(100*time.Millisecond))
	c.nats = startNATS(ctx, t, filepath.Join(dir, "nats"))
	if err := os.MkdirAll(filepath.Join(dir, "redis"), 0o700); err != nil {
		t.Fatal(err)
	}
	c.redis = startRedis(ctx, t, filepath.Join(dir, "redis"))

	key := make([]byte, 32)
	_, _ = rand.Read(key)
	keyFile := filepath.Join(dir, "master.key")
	if err := os.WriteFile(keyFile, []byte(hex.EncodeToString(key)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var addrs []string
	for range replicas {
		addrs = append(addrs, fmt.Sprintf("127.0.0.1:%d", freePort(t)))
	}
	// One public URL for all replicas, as behind a real load balancer: it
	// is the tokens' issuer, so a token minted by one replica is good on
	// the other.
	c.lb = startBalancer(t, addrs)
	for i, addr := range addrs {
		args := []string{"server", "--listen", addr, "--public-url", c.lb.url(), "--advertise-url", "http://" + addr,
			"--database-url", c.dbURL,
			"--nats-url", c.nats.url(), "--nats-namespace", "faults", "--redis-url", "redis://" + c.redis.addr() + "/0",
			"--secret-key-file", keyFile, "--data-dir", filepath.Join(dir, fmt.Sprintf("server%d", i)),
			"--heartbeat-interval", heartbeatInterval.String(), "--provision-deadline", provisionDeadline.String(),
			"--release-deadline", releaseDeadline.String(), "--node-lost-grace", nodeLostGrace.String(),
			"--runtime", "agent", "--min-runway", "10s", "--api-rate", "1000", "--api-burst", "2000",
			"--log-format", "text"}
		d := newDaemon(t, fmt.Sprintf("server%d", i), true, func() *exec.Cmd {
			cmd := exec.Command(c.bin, args...)
			cmd.Env = proctest.BaseEnv()
			return cmd
		})
		c.servers = append(c.servers, d)
		if err := d.start(); err != nil {
			t.Fatal(err)
		}
		// One at a time the first time: the first applies the migrations.
		if err := waitReady(ctx, sdk.New("http://"+addr), 90*time.Second); err != nil {
			t.Fatalf("server%d ready: %v", i, err)
		}
	}
	t.Logf("setup: control plane up after %s", time.Since(began).Round(100*time.Millisecond))

	st, err := store.Open(ctx, c.dbURL, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	c.st = st
	c.seed(ctx)
	if out, err := c.runBin(ctx, adminPassword+"\n", "create-admin", "--username", "faults-admin",
		"--email", "faults-admin@example.com", "--password-stdin", "--database-url", c.dbURL); err != nil {
		t.Fatalf("create-admin: %v\n%s", err, out)
	}
	c.admin = c.signIn(ctx, "faults-admin", adminPassword)

	xml, err := os.ReadFile("../gpu/testdata/h200-idle.xml")
	if err != nil {
		t.Fatal(err)
	}
	for i := range nodes {
		c.agents = append(c.agents, c.addAgent(ctx, i, xml))
	}
	for _, a := range c.agents {
		if err := c.waitNodeOnline(ctx, a, 60*time.Second); err != nil {
			t.Fatalf("%s online: %v", a.name, err)
		}
	}
	return c
}

func waitReady(ctx context.Context, cl *sdk.Client, timeout time.Duration) error {
	return poll(ctx, timeout, 100*time.Millisecond, func() (bool, error) {
		rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		_, err := cl.Readyz(rctx)
		return err == nil, err
	})
}

func (c *cluster) runBin(ctx context.Context, stdin string, args ...string) ([]byte, error) {
	cctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	cmd := exec.CommandContext(cctx, c.bin, args...)
	cmd.Env = proctest.BaseEnv()
	cmd.Stdin = strings.NewReader(stdin)
	return cmd.CombinedOutput()
}

// seed puts the catalog in the database (there is no admin API for
// regions and SKUs) and shortens the meter interval (a policy row).
func (c *cluster) seed(ctx context.Context) {
	t := c.t
	inv := inventory.New(c.st)
	if err := inv.SeedRegion(ctx, inventory.Region{ID: "r1", Name: "R1"}); err != nil {
		t.Fatal(err)
	}
	for _, s := range []api.SKU{
		{Id: skuCheap, Name: "H200", GpuModel: "NVIDIA H200", GpuCount: 1, GpuMemoryMib: 143771,
			PricePerHourMinor: 349, Currency: "USD", Region: "r1", Active: true},
		{Id: skuDear, Name: "H200 (dear)", GpuModel: "NVIDIA H200", GpuCount: 1, GpuMemoryMib: 143771,
			PricePerHourMinor: dearPrice, Currency: "USD", Region: "r1", Active: true},
	} {
		if err := inv.SeedSKU(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.st.Pool().Exec(ctx, `UPDATE policies SET value = $1, updated_at = now()
		WHERE key = 'billing.meter_interval_seconds'`, meterSeconds); err != nil {
		t.Fatal(err)
	}
}

func (c *cluster) signIn(ctx context.Context, username, password string) *sdk.Client {
	c.t.Helper()
	var pair api.TokenPair
	err := poll(ctx, 30*time.Second, 200*time.Millisecond, func() (bool, error) {
		var err error
		pair, err = sdk.New(c.lb.url()).Login(ctx, username, password)
		return err == nil, err
	})
	if err != nil {
		c.t.Fatalf("login %s: %v", username, err)
	}
	return sdk.New(c.lb.url(), sdk.WithAccessToken(pair.AccessToken))
}

var (
	gpuBlock = regexp.MustCompile(`(?s)\n\t<gpu id="[^"]*">.*?\n\t</gpu>`)
	gpuUUID  = regexp.MustCompile(`<uuid>[^<]*</uuid>`)
	gpuID    = regexp.MustCompile(`<gpu id="[^"]*">`)
)

// nodeXML derives a host of gpus GPUs from the real one-GPU capture:
// the <gpu> element repeated, each copy with its own UUID and bus id
// (GPU UUIDs are unique across the fleet).
func nodeXML(t *testing.T, capture []byte, node, gpus int) []byte {
	t.Helper()
	loc := gpuBlock.FindIndex(capture)
	if loc == nil {
		t.Fatal("fixture: no <gpu> element")
	}
	block := capture[loc[0]:loc[1]]
	var all bytes.Buffer
	for k := range gpus {
		b := gpuUUID.ReplaceAll(block, []byte(fmt.Sprintf("<uuid>GPU-faults-%02d-%02d</uuid>", node, k)))
		b = gpuID.ReplaceAll(b, []byte(fmt.Sprintf(`<gpu id="00000000:%02X:00.0">`, k+6)))
		all.Write(b)
	}
	out := append(append(append([]byte{}, capture[:loc[0]]...), all.Bytes()...), capture[loc[1]:]...)
	return bytes.Replace(out, []byte("<attached_gpus>1</attached_gpus>"),
		[]byte("<attached_gpus>"+strconv.Itoa(gpus)+"</attached_gpus>"), 1)
}

// addAgent registers node i and starts its agent with the sim runtime (no
// Linux users) and a stand-in nvidia-smi printing the derived capture.
func (c *cluster) addAgent(ctx context.Context, i int, capture []byte) *agentProc {
	t := c.t
	host := fmt.Sprintf("faults-node-%d", i)
	node, err := c.admin.AdminCreateNode(ctx, api.CreateNodeRequest{Hostname: host, Region: "r1"})
	if err != nil {
		t.Fatal(err)
	}
	jt, err := c.admin.AdminIssueJoinToken(ctx, node.Id)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(c.dir, host)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	xmlPath := filepath.Join(dir, "nvidia-smi-q.xml")
	if err := os.WriteFile(xmlPath, nodeXML(t, capture, i, c.gpusPerNode), 0o644); err != nil {
		t.Fatal(err)
	}
	smi := filepath.Join(dir, "nvidia-smi")
	if err := os.WriteFile(smi, []byte("#!/bin/sh\nexec cat '"+xmlPath+"'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	kernLog := filepath.Join(dir, "kern.log")
	if err := os.WriteFile(kernLog, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	// The join token is spent on the first start; later starts use the
	// credential in --data-dir.
	args := []string{"agent", "--server", c.lb.url(), "--join-token", jt.Token, "--data-dir", filepath.Join(dir, "data"),
		"--runtime", "sim", "--self-update=false", "--ssh-host", "127.0.0.1", "--nvidia-smi", smi, "--kernel-log", kernLog}
	a := &agentProc{nodeID: node.Id, hostname: host}
	a.daemon = newDaemon(t, "agent-"+host, true, func() *exec.Cmd {
		cmd := exec.Command(c.bin, args...)
		cmd.Env = proctest.BaseEnv()
		return cmd
	})
	if err := a.start(); err != nil {
		t.Fatal(err)
	}
	return a
}

func (c *cluster) waitNodeOnline(ctx context.Context, a *agentProc, timeout time.Duration) error {
	return poll(ctx, timeout, 100*time.Millisecond, func() (bool, error) {
		var status string
		var gpus int
		err := c.st.Pool().QueryRow(ctx, `SELECT n.status, (SELECT count(*) FROM gpus g WHERE g.node_id = n.id)
			FROM nodes n WHERE n.id = $1`, a.nodeID).Scan(&status, &gpus)
		return err == nil && status == "online" && gpus == c.gpusPerNode, err
	})
}
