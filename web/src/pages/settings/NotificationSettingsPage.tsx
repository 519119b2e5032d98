// Notification email: which kinds of notification the user is also sent by
// email (GET/PUT /api/v1/users/me/notification-preferences). Every kind is
// always shown in the console; this only turns its email off or on. When
// the server sends no email at all (no --smtp-url) the page says so.
import { useEffect, useState } from 'react';
import { api } from '../../api/client';
import { useGet, useMutate } from '../../api/query';
import { ErrorBox } from '../../components/ErrorBox';
import { Card, Page } from '../../components/Page';
import { StateView } from '../../components/StateView';
import { useToast } from '../../components/Toast';
import '../../features/user/user.css';

const PATH = '/api/v1/users/me/notification-preferences';

export function NotificationSettingsPage() {
  const prefs = useGet(PATH, {});
  const toast = useToast();
  const [off, setOff] = useState<Set<string> | null>(null);
  useEffect(() => {
    if (prefs.data && off === null) setOff(new Set(prefs.data.kinds.filter((k) => !k.email).map((k) => k.kind)));
  }, [prefs.data, off]);
  const save = useMutate((optOut: string[]) => api.put(PATH, { body: { email_opt_out: optOut } }), { invalidates: [PATH] });
  const toggle = async (kind: string, email: boolean) => {
    const next = new Set(off ?? []);
    if (email) next.delete(kind);
    else next.add(kind);
    setOff(next);
    const r = await save.run([...next]);
    if (r) {
      prefs.setData(r);
      toast({ tone: 'success', title: 'Preferences saved', message: email ? 'You will get this by email.' : 'No more email of this kind.' });
    }
  };
  return (
    <Page title="Notifications" subtitle="Which notifications are also sent to you by email.">
      <Card title="Email">
        <StateView state={prefs} loadingLabel="Loading your preferences…">
          {(p) => (
            <form data-testid="notification-preferences" onSubmit={(e) => e.preventDefault()}>
              {!p.mail_enabled && (
                <p className="muted" data-testid="mail-disabled">
                  This server does not send email; you see every notification in the console. Your choices are kept for
                  when it does.
                </p>
              )}
              <fieldset className="pref-list">
                <legend className="muted">Send me an email when…</legend>
                {p.kinds.map((k) => (
                  <label key={k.kind} className="pref-row">
                    <input
                      type="checkbox"
                      checked={!(off ?? new Set()).has(k.kind)}
                      disabled={save.pending}
                      onChange={(e) => void toggle(k.kind, e.target.checked)}
                      data-kind={k.kind}
                    />
                    <span>{k.label}</span>
                  </label>
                ))}
              </fieldset>
              {save.error && <ErrorBox error={save.error} compact />}
            </form>
          )}
        </StateView>
      </Card>
    </Page>
  );
}
