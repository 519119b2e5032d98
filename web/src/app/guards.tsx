// Route guards. RequireAuth waits for start-up (refresh + /users/me) and sends
// anyone signed out to /login?next=<here>. RequireAdmin renders the
// "you need admin" panel inside the shell for everyone else; the server
// enforces the same rule (403) for every /admin API call.
import type { ReactNode } from 'react';
import { Navigate, Outlet, useLocation } from 'react-router';
import { ErrorBox } from '../components/ErrorBox';
import { Page } from '../components/Page';
import { Loading, Restricted } from '../components/StateView';
import { useAuth } from './auth';

export function loginPathFor(location: { pathname: string; search: string; hash: string }): string {
  const here = location.pathname + location.search + location.hash;
  return here === '/' || here.startsWith('/login') ? '/login' : `/login?next=${encodeURIComponent(here)}`;
}

export function RequireAuth({ children }: { children: ReactNode }) {
  const { status, error, retry } = useAuth();
  const location = useLocation();
  if (status === 'starting') return <Splash />;
  if (status === 'error' && error) {
    return (
      <div className="splash">
        <div className="splash-card">
          <h1>GPUaaS</h1>
          <ErrorBox error={error} title="The console could not start" onRetry={retry} />
        </div>
      </div>
    );
  }
  if (status !== 'signed-in') return <Navigate to={loginPathFor(location)} replace />;
  return <>{children}</>;
}

export function RequireAdmin() {
  const { isAdmin } = useAuth();
  if (!isAdmin) {
    return (
      <Page title="Admin">
        <Restricted what="the admin pages" />
      </Page>
    );
  }
  return <Outlet />;
}

export function Splash() {
  return (
    <div className="splash" aria-busy="true">
      <Loading label="Starting the console…" />
    </div>
  );
}
