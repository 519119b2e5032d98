// Human text for each notification the server pushes (docs/api.md, "Live
// notifications"): a title (also what the live region announces), a line of
// detail, a tone for its icon, and where it leads, for the notifications centre.
import type { Notification } from '../api/notifications';
import { formatMoney } from '../lib/format';

export interface NotificationView {
  title: string;
  detail: string;
  tone: 'success' | 'info' | 'warning' | 'danger';
  /** An in-app link, when the notification is about something you can open. */
  href?: string;
  linkLabel?: string;
}

export function viewNotification(n: Notification): NotificationView {
  const short = n.allocation_id ? n.allocation_id.slice(0, 8) : '';
  const href = n.allocation_id ? `/allocations/${n.allocation_id}` : undefined;
  const linkLabel = n.allocation_id ? `Open allocation ${short}` : undefined;
  const money =
    typeof n.balance_minor === 'number' && n.currency ? formatMoney(n.balance_minor, n.currency) : null;
  switch (n.type) {
    case 'allocation.status':
      switch (n.status) {
        case 'active':
          return {
            title: `Allocation ${short} is active`,
            detail: 'Its GPUs are ready. Connect with ssh or open the terminal.',
            tone: 'success',
            href,
            linkLabel,
          };
        case 'failed':
          if (n.reason === 'node_lost') {
            return {
              title: `Allocation ${short} was lost with its node`,
              detail:
                'Its node stopped reporting and did not come back in time. You are charged only up to the last moment the node was seen running it.',
              tone: 'danger',
              href,
              linkLabel,
            };
          }
          return {
            title: `Allocation ${short} failed`,
            detail: 'It could not be started. Open it to see why.',
            tone: 'danger',
            href,
            linkLabel,
          };
        case 'released':
          return {
            title: `Allocation ${short} was released`,
            detail: 'Its GPUs were given back and billing stopped.',
            tone: 'info',
            href,
            linkLabel,
          };
        default:
          return {
            title: `Allocation ${short} is ${(n.status ?? 'updated').replace(/_/g, ' ')}`,
            detail: 'Its status changed.',
            tone: 'info',
            href,
            linkLabel,
          };
      }
    case 'node.offline':
      return {
        title: `The node of allocation ${short} went offline`,
        detail:
          'It stopped reporting. Billing is paused until it comes back; if it does not return in time the allocation ends and you are charged only up to when the node was last seen.',
        tone: 'warning',
        href,
        linkLabel,
      };
    case 'gpu.unhealthy':
      return {
        title: `A GPU of allocation ${short} failed`,
        detail: n.reason
          ? `The node reported: ${n.reason}. Save your work; the node takes no new allocations until an admin checks it.`
          : 'Save your work; the node takes no new allocations until an admin checks it.',
        tone: 'danger',
        href,
        linkLabel,
      };
    case 'billing.low_balance':
      return {
        title: 'Your balance is running low',
        detail: money
          ? `${money} left. Running allocations are released when it reaches zero.`
          : 'Running allocations are released when it reaches zero.',
        tone: 'warning',
        href: '/billing',
        linkLabel: 'Open billing',
      };
    case 'billing.balance_credited':
      return {
        title: 'Credit was added to your balance',
        detail: money ? `Your balance is now ${money}.` : 'Your balance was topped up.',
        tone: 'success',
        href: '/billing',
        linkLabel: 'Open billing',
      };
    default:
      return { title: n.type, detail: 'A notification of a kind this console does not know yet.', tone: 'info' };
  }
}
