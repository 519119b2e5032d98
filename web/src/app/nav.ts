// The navigation. A new screen adds its entry here and its route in routes.tsx.
import type { IconName } from '../components/Icon';

export interface NavItem {
  to: string;
  label: string;
  icon: IconName;
}

export const userNav: NavItem[] = [
  { to: '/marketplace', label: 'Marketplace', icon: 'market' },
  { to: '/allocations', label: 'Allocations', icon: 'alloc' },
  { to: '/storage', label: 'Storage', icon: 'storage' },
  { to: '/billing', label: 'Billing', icon: 'billing' },
  { to: '/teams', label: 'Teams', icon: 'users' },
  { to: '/keys', label: 'SSH keys', icon: 'key' },
  { to: '/notifications', label: 'Notifications', icon: 'bell' },
];

export const adminNav: NavItem[] = [
  { to: '/admin/overview', label: 'Overview', icon: 'overview' },
  { to: '/admin/users', label: 'Users', icon: 'users' },
  { to: '/admin/teams', label: 'Teams', icon: 'users' },
  { to: '/admin/nodes', label: 'Nodes', icon: 'node' },
  { to: '/admin/catalogue', label: 'Catalogue', icon: 'market' },
  { to: '/admin/allocations', label: 'Allocations', icon: 'alloc' },
  { to: '/admin/payments', label: 'Payments', icon: 'billing' },
  { to: '/admin/audit-logs', label: 'Audit logs', icon: 'audit' },
  { to: '/admin/dead-letters', label: 'Dead letters', icon: 'warning' },
];
