// The admin's per-user spend limits (GET/PUT /api/v1/admin/users/{id}/limits):
// what is in force and used now, and a form of the three limits, each blank
// for the platform default. Lowering a limit stops nothing that runs.
import { useEffect, useState, type FormEvent } from 'react';
import { api } from '../../api/client';
import { useGet, useMutate } from '../../api/query';
import type { User } from '../../api/types';
import { ErrorBox } from '../../components/ErrorBox';
import { Field } from '../../components/Field';
import { Card } from '../../components/Page';
import { StateView } from '../../components/StateView';
import { useToast } from '../../components/Toast';
import { currencyDigits } from '../../lib/format';
import { LimitsView } from '../user/SpendLimits';
import { limitText, parseGpuLimit, parseMoneyLimit } from './limits';

export function UserLimitsCard({ u }: { u: User }) {
  const q = useGet('/api/v1/admin/users/{user_id}/limits', { path: { user_id: u.id } });
  const toast = useToast();
  // The user's first currency names the money fields (a deployment normally
  // prices in one); USD until the limits are read.
  const currency = q.data?.usage?.[0]?.currency ?? 'USD';
  const digits = currencyDigits(currency);
  const [gpus, setGpus] = useState('');
  const [monthly, setMonthly] = useState('');
  const [burn, setBurn] = useState('');
  const [loaded, setLoaded] = useState(false);
  useEffect(() => {
    if (!q.data || loaded) return;
    const o = q.data.overrides ?? {};
    setGpus(o.max_concurrent_gpus == null ? '' : String(o.max_concurrent_gpus));
    setMonthly(limitText(o.max_monthly_spend_minor, digits));
    setBurn(limitText(o.max_burn_per_hour_minor, digits));
    setLoaded(true);
  }, [q.data, loaded, digits]);
  const pg = parseGpuLimit(gpus);
  const pm = parseMoneyLimit(monthly, digits);
  const pb = parseMoneyLimit(burn, digits);
  const [touched, setTouched] = useState(false);
  const save = useMutate(
    (body: { max_concurrent_gpus: number | null; max_monthly_spend_minor: number | null; max_burn_per_hour_minor: number | null }) =>
      api.put('/api/v1/admin/users/{user_id}/limits', { path: { user_id: u.id }, body }),
    { invalidates: ['/api/v1/admin/audit-logs'] },
  );
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setTouched(true);
    if (!pg.ok || !pm.ok || !pb.ok || save.pending) return;
    const r = await save.run({ max_concurrent_gpus: pg.value, max_monthly_spend_minor: pm.value, max_burn_per_hour_minor: pb.value });
    if (r) {
      q.setData(r);
      setTouched(false);
      toast({ tone: 'success', title: 'Spend limits saved', message: `New creates by ${u.username} are held to them.` });
    }
  };
  return (
    <Card title="Spend limits">
      <div data-testid="admin-user-limits" aria-busy={q.loading}>
        <StateView state={q} loadingLabel={`Loading ${u.username}’s limits`}>
          {(l) => <LimitsView l={l} />}
        </StateView>
      </div>
      <form className="adjust-form" onSubmit={submit} noValidate data-testid="limits-form">
        <Field label="Most GPUs at once" hint="Blank: the platform default." error={touched && !pg.ok ? pg.error : undefined}>
          {(p) => <input {...p} name="max_concurrent_gpus" inputMode="numeric" autoComplete="off" value={gpus} onChange={(e) => setGpus(e.target.value)} />}
        </Field>
        <Field label={`Most spend per month (${currency})`} hint="Usage charges per calendar month (UTC). Blank: the platform default." error={touched && !pm.ok ? pm.error : undefined}>
          {(p) => <input {...p} name="max_monthly_spend" inputMode="decimal" autoComplete="off" value={monthly} onChange={(e) => setMonthly(e.target.value)} />}
        </Field>
        <Field label={`Most burn per hour (${currency})`} hint="The hourly price of everything run at once. Blank: the platform default." error={touched && !pb.ok ? pb.error : undefined}>
          {(p) => <input {...p} name="max_burn_per_hour" inputMode="decimal" autoComplete="off" value={burn} onChange={(e) => setBurn(e.target.value)} />}
        </Field>
        {save.error && <ErrorBox error={save.error} compact />}
        <div className="link-row">
          <button type="submit" className="button primary" disabled={save.pending}>
            Save limits
          </button>
        </div>
      </form>
    </Card>
  );
}
