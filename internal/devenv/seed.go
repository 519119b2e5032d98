package devenv

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/inventory"
	"github.com/gpuaas/gpuaas/internal/ledger"
	"github.com/gpuaas/gpuaas/internal/server"
	"github.com/gpuaas/gpuaas/internal/store"
	"github.com/gpuaas/gpuaas/internal/users"
)

// Region is the dev region every seeded SKU and node lives in.
var Region = inventory.Region{ID: "local-1", Name: "Local dev region"}

// GPU models as nvidia-smi names them (see the recorded fixtures); a SKU
// matches a node's GPUs by exact model name, so these strings must agree.
const (
	ModelH100 = "NVIDIA H100 80GB HBM3"
	ModelH200 = "NVIDIA H200"
	ModelA100 = "NVIDIA A100-SXM4-80GB"

	memH100 = 81559  // MiB, nvidia-smi memory.total
	memH200 = 143771 // MiB
	memA100 = 81920  // MiB
)

// SKUs are the priced shapes seeded in dev. Prices are per hour in US
// cents, in the range public GPU clouds charge; vCPU, memory and disk scale
// with the GPU count as on typical cloud shapes.
func SKUs() []api.SKU {
	sku := func(id, name, model string, count, gpuMem, vcpu int, memGiB int64, disk int, price int64) api.SKU {
		return api.SKU{Id: id, Name: name, GpuModel: model, GpuCount: count, GpuMemoryMib: gpuMem,
			Vcpu: vcpu, MemoryMib: memGiB * 1024, DiskGib: disk, PricePerHourMinor: price,
			Currency: "USD", Region: Region.ID, Active: true}
	}
	return []api.SKU{
		sku("h100-80gb-x1", "H100 80GB ×1", ModelH100, 1, memH100, 26, 225, 512, 249),
		sku("h100-80gb-x8", "H100 80GB ×8", ModelH100, 8, memH100, 208, 1800, 8192, 1992),
		sku("h200-141gb-x1", "H200 141GB ×1", ModelH200, 1, memH200, 24, 256, 1024, 349),
		sku("a100-80gb-x1", "A100 80GB ×1", ModelA100, 1, memA100, 30, 200, 512, 149),
	}
}

// SimNode is a simulated GPU host.
type SimNode struct {
	Hostname  string
	Model     string
	MemoryMiB int
	GPUs      int
}

// SimNodes is the simulated fleet: every SKU has free GPUs, and the ×8 SKU
// fits twice.
func SimNodes() []SimNode {
	return []SimNode{
		{"sim-h100-01", ModelH100, memH100, 8},
		{"sim-h100-02", ModelH100, memH100, 8},
		{"sim-h200-01", ModelH200, memH200, 4},
		{"sim-a100-01", ModelA100, memA100, 4},
	}
}

// gpuNamespace makes simulated GPU UUIDs stable across restarts and machines.
var gpuNamespace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://gpuaas.dev/sim-gpu"))

// SimGPUUUID is the device UUID of GPU index on hostname, in nvidia-smi's
// form GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx.
func SimGPUUUID(hostname string, index int) string {
	return "GPU-" + uuid.NewSHA1(gpuNamespace, fmt.Appendf(nil, "%s/%d", hostname, index)).String()
}

// GPUSpecs are the devices of n.
func (n SimNode) GPUSpecs() []inventory.GPUSpec {
	specs := make([]inventory.GPUSpec, n.GPUs)
	for i := range specs {
		specs[i] = inventory.GPUSpec{Index: i, UUID: SimGPUUUID(n.Hostname, i), Model: n.Model, MemoryMiB: n.MemoryMiB}
	}
	return specs
}

// Account is a seeded sign-in.
type Account struct {
	Username string
	Email    string
	Role     api.Role
}

// Accounts are the dev sign-ins; both get the dev password.
func Accounts() []Account {
	return []Account{
		{"admin", "admin@gpuaas.local", api.RoleAdmin},
		{"demo", "demo@gpuaas.local", api.RoleUser},
	}
}

// SeedReport says what a Seed call created; on a restart it is all zero.
type SeedReport struct {
	NodesCreated    int
	AccountsCreated int
}

// Seed puts the demo data in place through the domain services. It is
// idempotent: a SKU or node that exists is left as it is (so an operator's
// edits survive a restart), and an account that exists only gets its
// password set to password.
func Seed(ctx context.Context, app *server.App, password string) (SeedReport, error) {
	var r SeedReport
	if err := app.Inventory.SeedRegion(ctx, Region); err != nil {
		return r, err
	}
	for _, s := range SKUs() {
		if err := app.Inventory.SeedSKU(ctx, s); err != nil {
			return r, err
		}
	}
	for _, n := range SimNodes() {
		created, err := app.Inventory.SeedNode(ctx, n.Hostname, Region.ID, n.GPUSpecs())
		if err != nil {
			return r, err
		}
		if created {
			r.NodesCreated++
		}
	}
	for _, a := range Accounts() {
		created, err := app.Users.Ensure(ctx, users.CreateParams{
			Username: a.Username, Email: a.Email, Password: password, Role: string(a.Role)})
		if err != nil {
			return r, fmt.Errorf("seed account %s: %w", a.Username, err)
		}
		if created {
			r.AccountsCreated++
		}
	}
	if err := creditDemo(ctx, app); err != nil {
		return r, err
	}
	return r, nil
}

// DemoCreditMinor is the starting credit of the demo account: USD 100.00.
const DemoCreditMinor = 10_000

// creditDemo gives demo its starting credit once; the ledger key makes
// every later start a no-op.
func creditDemo(ctx context.Context, app *server.App) error {
	demo, err := app.Store.GetUserByUsername(ctx, "demo")
	if err != nil {
		return fmt.Errorf("look up demo: %w", err)
	}
	return app.Store.InTx(ctx, func(tx *store.Store) error {
		_, err := ledger.Post(ctx, tx, ledger.Posting{
			Key: "dev-seed:demo-credit", Kind: ledger.KindAdjustment, UserID: demo.ID,
			Memo: "gpuaas dev starting credit", Currency: "USD", Amount: DemoCreditMinor,
		})
		return err
	})
}
