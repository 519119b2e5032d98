// Every URL of the console. To add a screen: create src/pages/<area>/<Name>Page.tsx,
// add a route below (under /admin for admin screens) and, if it needs one, a
// nav entry in nav.ts. See docs/web.md.
import { Navigate, type RouteObject } from 'react-router';
import { AdminAllocationPage } from '../pages/admin/AdminAllocationPage';
import { AdminAllocationsPage } from '../pages/admin/AdminAllocationsPage';
import { AuditLogsPage } from '../pages/admin/AuditLogsPage';
import { CataloguePage } from '../pages/admin/CataloguePage';
import { DeadLettersPage } from '../pages/admin/DeadLettersPage';
import { NodeDetailPage } from '../pages/admin/NodeDetailPage';
import { NodesPage } from '../pages/admin/NodesPage';
import { OverviewPage } from '../pages/admin/OverviewPage';
import { TeamAdminPage, TeamsAdminPage } from '../pages/admin/TeamsAdminPage';
import { UserDetailPage } from '../pages/admin/UserDetailPage';
import { UsersPage } from '../pages/admin/UsersPage';
import { AllocationDetailPage } from '../pages/allocations/AllocationDetailPage';
import { AllocationsPage } from '../pages/allocations/AllocationsPage';
import { LoginPage } from '../pages/auth/LoginPage';
import { ResetPasswordPage } from '../pages/auth/ResetPasswordPage';
import { BillingPage } from '../pages/billing/BillingPage';
import { PaymentReturnPage } from '../pages/billing/PaymentReturnPage';
import { AdminPaymentPage } from '../pages/admin/AdminPaymentPage';
import { AdminPaymentsPage } from '../pages/admin/AdminPaymentsPage';
import { KeysPage } from '../pages/keys/KeysPage';
import { MarketplacePage } from '../pages/marketplace/MarketplacePage';
import { NotFoundPage } from '../pages/NotFoundPage';
import { NotificationsPage } from '../pages/notifications/NotificationsPage';
import { ProfilePage } from '../pages/settings/ProfilePage';
import { TokensPage } from '../pages/settings/TokensPage';
import { NotificationSettingsPage } from '../pages/settings/NotificationSettingsPage';
import { StoragePage } from '../pages/storage/StoragePage';
import { TeamPage } from '../pages/teams/TeamPage';
import { TeamsPage } from '../pages/teams/TeamsPage';
import { RequireAdmin, RequireAuth } from './guards';
import { Shell } from './Shell';

export const routes: RouteObject[] = [
  { path: '/login', element: <LoginPage /> },
  { path: '/reset-password', element: <ResetPasswordPage /> },
  {
    element: (
      <RequireAuth>
        <Shell />
      </RequireAuth>
    ),
    children: [
      { index: true, element: <Navigate to="/marketplace" replace /> },
      { path: 'marketplace', element: <MarketplacePage /> },
      { path: 'allocations', element: <AllocationsPage /> },
      { path: 'allocations/:id', element: <AllocationDetailPage /> },
      { path: 'storage', element: <StoragePage /> },
      { path: 'billing', element: <BillingPage /> },
      { path: 'billing/payments/:id', element: <PaymentReturnPage /> },
      { path: 'keys', element: <KeysPage /> },
      { path: 'teams', element: <TeamsPage /> },
      { path: 'teams/:slug', element: <TeamPage /> },
      { path: 'notifications', element: <NotificationsPage /> },
      { path: 'settings/profile', element: <ProfilePage /> },
      { path: 'settings/tokens', element: <TokensPage /> },
      { path: 'settings/notifications', element: <NotificationSettingsPage /> },
      {
        path: 'admin',
        element: <RequireAdmin />,
        children: [
          { index: true, element: <Navigate to="/admin/overview" replace /> },
          { path: 'overview', element: <OverviewPage /> },
          { path: 'users', element: <UsersPage /> },
          { path: 'users/:id', element: <UserDetailPage /> },
          { path: 'teams', element: <TeamsAdminPage /> },
          { path: 'teams/:slug', element: <TeamAdminPage /> },
          { path: 'nodes', element: <NodesPage /> },
          { path: 'catalogue', element: <CataloguePage /> },
          { path: 'nodes/:id', element: <NodeDetailPage /> },
          { path: 'allocations', element: <AdminAllocationsPage /> },
          { path: 'allocations/:id', element: <AdminAllocationPage /> },
          { path: 'payments', element: <AdminPaymentsPage /> },
          { path: 'payments/:id', element: <AdminPaymentPage /> },
          { path: 'audit-logs', element: <AuditLogsPage /> },
          { path: 'dead-letters', element: <DeadLettersPage /> },
        ],
      },
      { path: '*', element: <NotFoundPage /> },
    ],
  },
];
