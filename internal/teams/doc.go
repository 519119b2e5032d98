// Package teams owns teams: groups of people who share one account.
//
// A team is an account like a person's (the model is GitHub's
// organisations): it has a users row of kind 'team', whose id is the team's
// id and whose username is its slug, so everything keyed by an account (the
// ledger account and balance, allocations, usage windows, balance alerts,
// storage) belongs to a team the same way it belongs to a person, and
// billing, depletion and placement need no notion of teams. A team row can
// never sign in.
//
// People act for a team through team_members, with the role owner or
// member. Owners rename the team and manage members; members use the
// team's balance, allocations, terminals, apps and storage. Every
// per-request check reads team_members (the SQL function may_act_for), so
// a removal holds from the member's next request on every replica.
//
// The package resolves who a request acts for (Account), and keeps the
// membership rules: only owners manage, the last owner can neither leave
// nor step down, and a change is audited with the ssh_keys.changed event
// that carries members' keys to (or off) the team's running allocations.
package teams
