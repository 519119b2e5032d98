package teams

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/apperr"
	"github.com/gpuaas/gpuaas/internal/audit"
	"github.com/gpuaas/gpuaas/internal/events"
	"github.com/gpuaas/gpuaas/internal/store"
	"github.com/gpuaas/gpuaas/internal/store/db"
)

// Error codes of team requests.
const (
	CodeSlugTaken     = "slug_taken"
	CodeOwnerRequired = "team_owner_required"
	CodeAlreadyMember = "already_member"
	CodeLastOwner     = "last_owner"
)

// Roles.
const (
	RoleOwner  = "owner"
	RoleMember = "member"
)

// Service manages teams and answers who may act for them.
type Service struct {
	store  *store.Store
	naming events.Naming
}

// New returns a Service over st; naming names the events it writes.
func New(st *store.Store, n events.Naming) *Service { return &Service{store: st, naming: n} }

var slugRE = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,37}[a-z0-9])$`)

func checkSlug(slug string) error {
	if !slugRE.MatchString(slug) {
		return apperr.Invalid("slug must be 2 to 39 characters of a-z, 0-9 and '-', not starting or ending with '-'")
	}
	return nil
}

func checkName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > 100 || !utf8.ValidString(name) {
		return "", apperr.Invalid("name must be 1 to 100 characters")
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return "", apperr.Invalid("name must not contain control characters")
		}
	}
	return name, nil
}

func checkRole(role string) error {
	if role != RoleOwner && role != RoleMember {
		return apperr.Invalid("role must be %q or %q", RoleOwner, RoleMember)
	}
	return nil
}

// Create makes a team with caller as its first owner, audited, in one
// transaction. A slug that a team or a person already has is 409
// slug_taken.
func (s *Service) Create(ctx context.Context, caller uuid.UUID, slug, name string) (api.Team, error) {
	slug = strings.ToLower(strings.TrimSpace(slug))
	if err := checkSlug(slug); err != nil {
		return api.Team{}, err
	}
	name, err := checkName(name)
	if err != nil {
		return api.Team{}, err
	}
	var out api.Team
	err = s.store.InTx(ctx, func(tx *store.Store) error {
		acct, err := tx.CreateTeamAccount(ctx, slug)
		if err != nil {
			return err
		}
		if err := tx.InsertTeam(ctx, db.InsertTeamParams{ID: acct.ID, Name: name, CreatedBy: caller}); err != nil {
			return fmt.Errorf("insert team: %w", err)
		}
		if _, err := tx.InsertTeamMember(ctx, db.InsertTeamMemberParams{TeamID: acct.ID, UserID: caller, Role: RoleOwner}); err != nil {
			return fmt.Errorf("insert owner: %w", err)
		}
		role := api.TeamRole(RoleOwner)
		out = api.Team{Id: acct.ID, Slug: slug, Name: name, Role: &role, MemberCount: 1, CreatedAt: acct.CreatedAt}
		return audit.Record(ctx, tx.Queries, audit.Entry{
			Actor: caller, Action: audit.ActionTeamCreated, TargetType: "team", TargetID: acct.ID.String(),
			Metadata: map[string]any{"slug": slug, "name": name},
		})
	})
	if store.IsUniqueViolation(err, "users_username_key") {
		return api.Team{}, apperr.Conflict(CodeSlugTaken, "the name %q is taken by a team or a user", slug)
	}
	if err != nil {
		return api.Team{}, fmt.Errorf("create team: %w", err)
	}
	return out, nil
}

// List is the teams caller is in.
func (s *Service) List(ctx context.Context, caller uuid.UUID) ([]api.Team, error) {
	rows, err := s.store.ListUserTeams(ctx, caller)
	if err != nil {
		return nil, fmt.Errorf("list teams: %w", err)
	}
	out := make([]api.Team, len(rows))
	for i, r := range rows {
		out[i] = teamView(r.ID, r.Slug, r.Name, r.MemberCount, r.CreatedAt, r.Role)
	}
	return out, nil
}

// AdminList is every team by slug, after the slug after ("" from the start).
func (s *Service) AdminList(ctx context.Context, after string, limit int) ([]api.Team, string, error) {
	p := db.ListAllTeamsParams{PageLimit: int32(limit + 1)}
	if after != "" {
		p.AfterSlug = &after
	}
	rows, err := s.store.ListAllTeams(ctx, p)
	if err != nil {
		return nil, "", fmt.Errorf("list teams: %w", err)
	}
	next := ""
	if len(rows) > limit {
		rows = rows[:limit]
		next = rows[limit-1].Slug
	}
	out := make([]api.Team, len(rows))
	for i, r := range rows {
		out[i] = teamView(r.ID, r.Slug, r.Name, r.MemberCount, r.CreatedAt, "")
	}
	return out, next, nil
}

func teamView(id uuid.UUID, slug, name string, members int64, created time.Time, role string) api.Team {
	t := api.Team{Id: id, Slug: slug, Name: name, MemberCount: int(members), CreatedAt: created}
	if role != "" {
		r := api.TeamRole(role)
		t.Role = &r
	}
	return t
}

// member resolves slug for caller: 404 when there is no such team or the
// caller is not in it, so outsiders cannot tell which teams exist.
func member(ctx context.Context, q *db.Queries, caller uuid.UUID, slug string) (db.GetTeamForMemberRow, error) {
	row, err := q.GetTeamForMember(ctx, db.GetTeamForMemberParams{Slug: strings.ToLower(slug), UserID: caller})
	if store.IsNoRows(err) {
		return row, apperr.NotFound("team")
	}
	if err != nil {
		return row, fmt.Errorf("get team: %w", err)
	}
	return row, nil
}

// mustOwn refuses a member who is not an owner of m.
func mustOwn(m db.GetTeamForMemberRow) error {
	if m.Role != RoleOwner {
		return apperr.ForbiddenCode(CodeOwnerRequired, "only an owner of team %s may do this", m.Slug)
	}
	return nil
}

// Get is one of caller's teams with its members.
func (s *Service) Get(ctx context.Context, caller uuid.UUID, slug string) (api.Team, error) {
	m, err := member(ctx, s.store.Queries, caller, slug)
	if err != nil {
		return api.Team{}, err
	}
	t := teamView(m.ID, m.Slug, m.Name, m.MemberCount, m.CreatedAt, m.Role)
	rows, err := s.store.ListTeamMembers(ctx, m.ID)
	if err != nil {
		return api.Team{}, fmt.Errorf("list members: %w", err)
	}
	members := make([]api.TeamMember, len(rows))
	for i, r := range rows {
		members[i] = api.TeamMember{UserId: r.UserID, Username: r.Username, Role: api.TeamRole(r.Role), JoinedAt: r.CreatedAt}
	}
	t.Members = &members
	return t, nil
}

// Rename sets the team's display name; owners only.
func (s *Service) Rename(ctx context.Context, caller uuid.UUID, slug, name string) (api.Team, error) {
	name, err := checkName(name)
	if err != nil {
		return api.Team{}, err
	}
	err = s.store.InTx(ctx, func(tx *store.Store) error {
		m, err := member(ctx, tx.Queries, caller, slug)
		if err != nil {
			return err
		}
		if err := mustOwn(m); err != nil {
			return err
		}
		if m.Name == name {
			return nil
		}
		if err := tx.RenameTeam(ctx, db.RenameTeamParams{ID: m.ID, Name: name}); err != nil {
			return fmt.Errorf("rename team: %w", err)
		}
		return audit.Record(ctx, tx.Queries, audit.Entry{
			Actor: caller, Action: audit.ActionTeamRenamed, TargetType: "team", TargetID: m.ID.String(),
			Metadata: map[string]any{"from": m.Name, "to": name},
		})
	})
	if err != nil {
		return api.Team{}, err
	}
	return s.Get(ctx, caller, slug)
}

// keysChanged writes the audit row of a membership change with the event
// that recomputes the SSH keys of the team's running allocations (which
// install every member's keys unless they named their own).
func (s *Service) keysChanged(ctx context.Context, tx *store.Store, team uuid.UUID, e audit.Entry) error {
	ev, err := events.Row(s.naming, events.SSHKeysChanged, events.SSHKeys{UserID: team, At: time.Now().UTC()})
	if err != nil {
		return err
	}
	return audit.RecordWithEvent(ctx, tx, e, ev)
}

// AddMember adds the person named username to the team with role (default
// member); owners only.
func (s *Service) AddMember(ctx context.Context, caller uuid.UUID, slug, username, role string) (api.TeamMember, error) {
	if role == "" {
		role = RoleMember
	}
	if err := checkRole(role); err != nil {
		return api.TeamMember{}, err
	}
	var out api.TeamMember
	err := s.store.InTx(ctx, func(tx *store.Store) error {
		m, err := member(ctx, tx.Queries, caller, slug)
		if err != nil {
			return err
		}
		if err := mustOwn(m); err != nil {
			return err
		}
		p, err := tx.GetPersonByUsername(ctx, strings.ToLower(strings.TrimSpace(username)))
		if store.IsNoRows(err) {
			return apperr.NotFound("user")
		}
		if err != nil {
			return fmt.Errorf("find user: %w", err)
		}
		n, err := tx.InsertTeamMember(ctx, db.InsertTeamMemberParams{TeamID: m.ID, UserID: p.ID, Role: role})
		if err != nil {
			return fmt.Errorf("add member: %w", err)
		}
		if n == 0 {
			return apperr.Conflict(CodeAlreadyMember, "%s is already in team %s", p.Username, m.Slug)
		}
		out = api.TeamMember{UserId: p.ID, Username: p.Username, Role: api.TeamRole(role), JoinedAt: time.Now().UTC()}
		return s.keysChanged(ctx, tx, m.ID, audit.Entry{
			Actor: caller, Action: audit.ActionTeamMemberAdded, TargetType: "team", TargetID: m.ID.String(),
			Metadata: map[string]any{"username": p.Username, "user_id": p.ID.String(), "role": role},
		})
	})
	return out, err
}

// lockedMember locks the team's member rows and finds username among them.
func lockedMember(ctx context.Context, tx *store.Store, m db.GetTeamForMemberRow, username string) (db.ListTeamMembersRow, int, error) {
	// The lock and then the list, in one round trip: the list is read
	// after the lock is granted, so it is what the lock holds.
	var locked []db.LockTeamMembersRow
	var rows []db.ListTeamMembersRow
	err := tx.Together(ctx,
		func(q *db.Queries) (err error) {
			if locked, err = q.LockTeamMembers(ctx, m.ID); err != nil {
				return fmt.Errorf("lock members: %w", err)
			}
			return nil
		},
		func(q *db.Queries) (err error) {
			if rows, err = q.ListTeamMembers(ctx, m.ID); err != nil {
				return fmt.Errorf("list members: %w", err)
			}
			return nil
		})
	if err != nil {
		return db.ListTeamMembersRow{}, 0, err
	}
	owners := 0
	for _, l := range locked {
		if l.Role == RoleOwner {
			owners++
		}
	}
	username = strings.ToLower(strings.TrimSpace(username))
	for _, r := range rows {
		if r.Username == username {
			return r, owners, nil
		}
	}
	return db.ListTeamMembersRow{}, owners, apperr.NotFound("member")
}

// SetRole changes a member's role; owners only. The last owner cannot step
// down.
func (s *Service) SetRole(ctx context.Context, caller uuid.UUID, slug, username, role string) (api.TeamMember, error) {
	if err := checkRole(role); err != nil {
		return api.TeamMember{}, err
	}
	var out api.TeamMember
	err := s.store.InTx(ctx, func(tx *store.Store) error {
		m, err := member(ctx, tx.Queries, caller, slug)
		if err != nil {
			return err
		}
		if err := mustOwn(m); err != nil {
			return err
		}
		target, owners, err := lockedMember(ctx, tx, m, username)
		if err != nil {
			return err
		}
		out = api.TeamMember{UserId: target.UserID, Username: target.Username, Role: api.TeamRole(role), JoinedAt: target.CreatedAt}
		if target.Role == role {
			return nil
		}
		if target.Role == RoleOwner && owners == 1 {
			return apperr.Conflict(CodeLastOwner, "%s is the last owner of team %s; make someone else an owner first", target.Username, m.Slug)
		}
		if _, err := tx.SetTeamMemberRole(ctx, db.SetTeamMemberRoleParams{TeamID: m.ID, UserID: target.UserID, Role: role}); err != nil {
			return fmt.Errorf("set role: %w", err)
		}
		return audit.Record(ctx, tx.Queries, audit.Entry{
			Actor: caller, Action: audit.ActionTeamMemberRole, TargetType: "team", TargetID: m.ID.String(),
			Metadata: map[string]any{"username": target.Username, "user_id": target.UserID.String(), "from": target.Role, "to": role},
		})
	})
	return out, err
}

// RemoveMember takes username out of the team: an owner may remove anyone,
// a member only themselves. The last owner cannot leave. It answers the
// removed member's id.
func (s *Service) RemoveMember(ctx context.Context, caller uuid.UUID, slug, username string) (uuid.UUID, error) {
	var removed uuid.UUID
	err := s.store.InTx(ctx, func(tx *store.Store) error {
		m, err := member(ctx, tx.Queries, caller, slug)
		if err != nil {
			return err
		}
		target, owners, err := lockedMember(ctx, tx, m, username)
		if err != nil {
			return err
		}
		self := target.UserID == caller
		if !self {
			if err := mustOwn(m); err != nil {
				return err
			}
		}
		if target.Role == RoleOwner && owners == 1 {
			return apperr.Conflict(CodeLastOwner, "%s is the last owner of team %s; make someone else an owner first", target.Username, m.Slug)
		}
		if _, err := tx.DeleteTeamMember(ctx, db.DeleteTeamMemberParams{TeamID: m.ID, UserID: target.UserID}); err != nil {
			return fmt.Errorf("remove member: %w", err)
		}
		removed = target.UserID
		return s.keysChanged(ctx, tx, m.ID, audit.Entry{
			Actor: caller, Action: audit.ActionTeamMemberRemoved, TargetType: "team", TargetID: m.ID.String(),
			Metadata: map[string]any{"username": target.Username, "user_id": target.UserID.String(), "role": target.Role, "left": self},
		})
	})
	return removed, err
}

// Account is the account a request acts for: the caller's own when slug is
// empty, else the team's, which the caller must be in (404 otherwise).
func (s *Service) Account(ctx context.Context, caller uuid.UUID, slug string) (uuid.UUID, error) {
	if slug == "" {
		return caller, nil
	}
	m, err := member(ctx, s.store.Queries, caller, slug)
	if err != nil {
		return uuid.Nil, err
	}
	return m.ID, nil
}

// ByAdmin is any team's id by slug, for admins; 404 when there is none.
func (s *Service) ByAdmin(ctx context.Context, slug string) (uuid.UUID, error) {
	row, err := s.store.GetTeamBySlug(ctx, strings.ToLower(slug))
	if store.IsNoRows(err) {
		return uuid.Nil, apperr.NotFound("team")
	}
	if err != nil {
		return uuid.Nil, fmt.Errorf("get team: %w", err)
	}
	return row.ID, nil
}
