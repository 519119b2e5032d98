// The team switcher in the top bar: "Personal" or one of the person's teams,
// by name only (at 360 px a "Team:" prefix would be all that shows).
// Hidden for someone in no team. The choice moves the balance, allocations,
// new allocations and billing to that account (app/account.tsx).
import { useAccount } from './account';

export function AccountSwitcher() {
  const { team, teams, set } = useAccount();
  if (teams.length === 0) return null;
  return (
    <label className="account-switcher">
      <span className="sr-only">Acting for (yourself or a team)</span>
      <select value={team ?? ''} onChange={(e) => set(e.target.value)} data-testid="account-switcher">
        <option value="">Personal</option>
        {teams.map((t) => (
          <option key={t.slug} value={t.slug}>
            {t.name}
          </option>
        ))}
      </select>
    </label>
  );
}
