// The frame around every signed-in screen: sidebar navigation (a menu button
// below 900 px), the top bar with the notifications bell and the user menu,
// and the low-balance banner. Screens render in <Outlet/>; whatever state a
// screen is in (loading, empty, error, restricted) the shell stays.
import { useEffect, useRef, useState } from 'react';
import { Link, NavLink, Outlet, useLocation, useNavigate } from 'react-router';
import { Money } from '../components/Money';
import { Icon } from '../components/Icon';
import { useAnnounce } from '../components/Announcer';
import { useOnline, useServerReachable } from '../api/query';
import { useThemePref, type ThemePref } from '../lib/theme';
import { AccountSwitcher } from './AccountSwitcher';
import { useAuth, useUser } from './auth';
import { BalanceBanner } from './BalanceBanner';
import { useBalance } from './balance';
import { adminNav, userNav, type NavItem } from './nav';
import { useAllocationNames } from '../features/user/AllocationName';
import { useNotificationHistory } from '../features/user/notificationHistory';
import { viewNotification } from './notificationText';
import { useNotificationListener, useNotifications } from './notifications';

export function Shell() {
  const [navOpen, setNavOpen] = useState(false);
  const location = useLocation();
  const first = useRef(true);

  // After navigation: close the mobile menu and move focus to the new page's
  // heading, so keyboard and screen-reader users start at the top of it.
  useEffect(() => {
    setNavOpen(false);
    if (first.current) {
      first.current = false;
      return;
    }
    document.getElementById('page-title')?.focus();
  }, [location.pathname]);

  return (
    <div className={`shell${navOpen ? ' nav-open' : ''}`}>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <Sidebar />
      <div className="shell-main">
        <TopBar navOpen={navOpen} onToggleNav={() => setNavOpen((o) => !o)} />
        <BalanceBanner />
        <main id="main" className="content" tabIndex={-1}>
          <Outlet />
        </main>
      </div>
      {navOpen && <div className="nav-scrim" onClick={() => setNavOpen(false)} aria-hidden="true" />}
      <StatusAnnouncer />
    </div>
  );
}

function NavList({ items }: { items: NavItem[] }) {
  return (
    <ul className="nav-list">
      {items.map((i) => (
        <li key={i.to}>
          <NavLink to={i.to} className={({ isActive }) => `nav-link${isActive ? ' active' : ''}`}>
            <Icon name={i.icon} />
            <span>{i.label}</span>
          </NavLink>
        </li>
      ))}
    </ul>
  );
}

function Sidebar() {
  const { isAdmin } = useAuth();
  return (
    <aside className="sidebar" id="sidebar">
      <Link to="/marketplace" className="brand" aria-label="GPUaaS home">
        <span className="brand-mark" aria-hidden="true">
          <Icon name="gpu" size={20} />
        </span>
        <span className="brand-name">GPUaaS</span>
      </Link>
      <nav aria-label="Main">
        <NavList items={userNav} />
        {isAdmin && (
          <>
            <h2 className="nav-section">Admin</h2>
            <NavList items={adminNav} />
          </>
        )}
      </nav>
      <div className="sidebar-footer muted">GPU cloud console</div>
    </aside>
  );
}

function TopBar({ navOpen, onToggleNav }: { navOpen: boolean; onToggleNav: () => void }) {
  const local = useNotifications();
  // The server's count where it keeps the history (the same in every browser), else this browser's.
  const history = useNotificationHistory();
  const unread = history.data ? history.data.unread_count : local.unread;
  const balance = useBalance();
  return (
    <header className="topbar">
      <button
        type="button"
        className="icon-button menu-button"
        aria-label="Menu"
        aria-expanded={navOpen}
        aria-controls="sidebar"
        onClick={onToggleNav}
      >
        <Icon name="menu" size={22} />
      </button>
      <Link to="/marketplace" className="topbar-brand" aria-label="GPUaaS home">
        GPUaaS
      </Link>
      <div className="topbar-spacer" />
      <ConnectionIndicator />
      <AccountSwitcher />
      {balance.data && (
        <Link to="/billing" className="topbar-balance">
          <span className="muted">Balance</span>{' '}
          <Money minor={balance.data.balance_minor - balance.data.unbilled_minor} currency={balance.data.currency} />
        </Link>
      )}
      <Link
        to="/notifications"
        className="icon-button bell"
        // The name holds the badge's text ("9+" past nine), as what is seen must be said.
        aria-label={unread > 0 ? `Notifications, ${unread > 9 ? '9+' : unread} unread` : 'Notifications'}
        data-testid="bell"
      >
        <Icon name="bell" size={20} />
        {unread > 0 && (
          <span className="badge" aria-hidden="true">
            {unread > 9 ? '9+' : unread}
          </span>
        )}
      </Link>
      <UserMenu />
    </header>
  );
}

function UserMenu() {
  const user = useUser();
  const { logout } = useAuth();
  const navigate = useNavigate();
  const [open, setOpen] = useState(false);
  const ref = useRef<HTMLDivElement>(null);
  const buttonRef = useRef<HTMLButtonElement>(null);

  useEffect(() => {
    if (!open) return;
    const onDown = (e: MouseEvent) => {
      if (!ref.current?.contains(e.target as Node)) setOpen(false);
    };
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') {
        setOpen(false);
        buttonRef.current?.focus();
      }
    };
    document.addEventListener('mousedown', onDown);
    document.addEventListener('keydown', onKey);
    return () => {
      document.removeEventListener('mousedown', onDown);
      document.removeEventListener('keydown', onKey);
    };
  }, [open]);

  return (
    <div className="user-menu" ref={ref}>
      <button
        ref={buttonRef}
        type="button"
        className="user-button"
        aria-expanded={open}
        aria-haspopup="true"
        aria-controls="user-menu-panel"
        onClick={() => setOpen((o) => !o)}
        data-testid="user-menu"
      >
        <span className="avatar" aria-hidden="true">
          {user.username.slice(0, 1).toUpperCase()}
        </span>
        <span className="user-name">{user.username}</span>
        <Icon name="chevron" size={16} />
      </button>
      {open && (
        <div className="user-menu-panel" id="user-menu-panel">
          <div className="user-menu-who">
            <strong>{user.username}</strong>
            <span className="muted">{user.email}</span>
            <span className="muted">Role: {user.role}</span>
          </div>
          <ThemeChoice />
          <Link to="/settings/profile" className="menu-item" onClick={() => setOpen(false)}>
            <Icon name="user" /> Profile
          </Link>
          <Link to="/settings/tokens" className="menu-item" onClick={() => setOpen(false)}>
            <Icon name="key" /> API tokens
          </Link>
          <Link to="/settings/notifications" className="menu-item" onClick={() => setOpen(false)}>
            <Icon name="bell" /> Notification email
          </Link>
          <button
            type="button"
            className="menu-item"
            onClick={async () => {
              setOpen(false);
              await logout();
              navigate('/login', { replace: true });
            }}
          >
            <Icon name="logout" /> Sign out
          </button>
        </div>
      )}
    </div>
  );
}

function ThemeChoice() {
  const [pref, setPref] = useThemePref();
  const options: { value: ThemePref; label: string }[] = [
    { value: 'system', label: 'System' },
    { value: 'light', label: 'Light' },
    { value: 'dark', label: 'Dark' },
  ];
  return (
    <fieldset className="theme-choice" data-testid="theme-choice">
      <legend>Theme</legend>
      <div className="theme-choice-buttons">
        {options.map((o) => (
          <button key={o.value} type="button" aria-pressed={pref === o.value} onClick={() => setPref(o.value)}>
            {o.label}
          </button>
        ))}
      </div>
    </fieldset>
  );
}

/**
 * Says when what is on screen may be out of date: the browser is offline, the
 * server does not answer, or the live feed dropped. Nothing while all is well.
 * Every query refetches when the connection is back (app/cache.tsx, api/query.ts).
 */
function ConnectionIndicator() {
  const online = useOnline();
  const reachable = useServerReachable();
  const { connection } = useNotifications();
  const announce = useAnnounce();
  const state = !online ? 'offline' : !reachable ? 'unreachable' : connection === 'closed' ? 'reconnecting' : 'ok';
  const last = useRef(state);
  useEffect(() => {
    if (last.current === state) return;
    last.current = state;
    announce(
      state === 'ok'
        ? 'Back online. The page is up to date again.'
        : state === 'offline'
          ? 'You are offline. What you see may be out of date.'
          : state === 'unreachable'
            ? 'The server does not answer. What you see may be out of date.'
            : 'Live updates dropped; reconnecting.',
    );
  }, [state, announce]);
  if (state === 'ok') return null;
  const text = { offline: 'Offline', unreachable: 'Server unreachable', reconnecting: 'Reconnecting…' }[state];
  const hint = {
    offline: 'Your browser is offline. What you see may be out of date; it refreshes when you are back.',
    unreachable: 'The server does not answer. What you see may be out of date; it refreshes when it is back.',
    reconnecting: 'Live updates dropped. Pages still refresh on their own; the feed reconnects by itself.',
  }[state];
  return (
    <span
      className={`conn-indicator conn-${state}`}
      title={hint}
      data-testid="connection-indicator"
      data-state={state}
    >
      <span className="conn-dot" aria-hidden="true" />
      <span className="conn-text">{text}</span>
      <span className="sr-only">. {hint}</span>
    </span>
  );
}

/** Announces every notification through the live region. */
function StatusAnnouncer() {
  const announce = useAnnounce();
  const names = useAllocationNames();
  useNotificationListener((n) => announce(viewNotification(n, n.allocation_id ? names?.get(n.allocation_id) : undefined).title));
  return null;
}
