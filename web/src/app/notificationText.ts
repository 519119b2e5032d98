// Human text for each notification the server pushes (docs/api.md, "Live
// notifications"): a title (also what the live region announces), a line of
// detail, a tone for its icon, and where it leads, for the notifications centre.
import type { Notification } from '../api/notifications';
import { formatDateTime, formatMoney } from '../lib/format';

export interface NotificationView {
  title: string;
  detail: string;
  tone: 'success' | 'info' | 'warning' | 'danger';
  /** An in-app link, when the notification is about something you can open. */
  href?: string;
  linkLabel?: string;
}

/**
 * The notification in words. `name` is the allocation's name when the console
 * knows it (useAllocationNames); otherwise "Allocation 1a2b3c4d".
 */
export function viewNotification(n: Notification, name?: string): NotificationView {
  const v = viewFromType(n, name);
  // The server's own words, where it sends them, know the name and the reason best.
  const title = n.title?.trim();
  const body = n.body?.trim();
  return title ? { ...v, title, detail: body || v.detail } : v;
}

function viewFromType(n: Notification, name?: string): NotificationView {
  const short = n.allocation_id ? n.allocation_id.slice(0, 8) : '';
  const label = name?.trim() ? name.trim() : `Allocation ${short}`;
  const href = n.allocation_id ? `/allocations/${n.allocation_id}` : undefined;
  const linkLabel = n.allocation_id ? `Open ${label}` : undefined;
  const money =
    typeof n.balance_minor === 'number' && n.currency ? formatMoney(n.balance_minor, n.currency) : null;
  switch (n.type) {
    case 'allocation.status':
      switch (n.status) {
        case 'active':
          return {
            title: `${label} is active`,
            detail: 'Its GPUs are ready. Connect with ssh or open the terminal.',
            tone: 'success',
            href,
            linkLabel,
          };
        case 'failed':
          if (n.reason === 'node_lost') {
            return {
              title: `${label} was lost with its node`,
              detail:
                'Its node stopped reporting and did not come back in time. You are charged only up to the last moment the node was seen running it.',
              tone: 'danger',
              href,
              linkLabel,
            };
          }
          return {
            title: `${label} failed`,
            detail: 'It could not be started. Open it to see why.',
            tone: 'danger',
            href,
            linkLabel,
          };
        case 'released':
          return {
            title:
              n.reason === 'balance_depleted'
                ? `${label} was released because your balance ran out`
                : n.reason?.startsWith('admin')
                  ? `${label} was released by an administrator`
                  : n.reason?.startsWith('maintenance')
                    ? `${label} was released for maintenance of its node`
                    : `${label} was released`,
            detail:
              n.reason === 'balance_depleted'
                ? 'Your balance reached zero, so its GPUs were given back and billing stopped. Add credit to start again.'
                : n.reason?.startsWith('admin:')
                  ? `Reason: ${n.reason.slice(6).trim()}. Its GPUs were given back and billing stopped.`
                  : n.reason?.startsWith('maintenance:')
                    ? `Reason: ${n.reason.slice(12).trim()}. Its GPUs were given back and billing stopped at the deadline.`
                    : 'Its GPUs were given back and billing stopped.',
            tone: 'info',
            href,
            linkLabel,
          };
        default:
          return {
            title: `${label} is ${(n.status ?? 'updated').replace(/_/g, ' ')}`,
            detail: 'Its status changed.',
            tone: 'info',
            href,
            linkLabel,
          };
      }
    case 'node.offline':
      return {
        title: `The node of ${label} went offline`,
        detail:
          'It stopped reporting. Billing is paused until it comes back; if it does not return in time the allocation ends and you are charged only up to when the node was last seen.',
        tone: 'warning',
        href,
        linkLabel,
      };
    case 'node.draining': {
      const when = n.deadline ? formatDateTime(n.deadline) : null;
      const why = n.reason?.trim() ? ` (${n.reason.trim()})` : '';
      return {
        title: `The node of ${label} goes into maintenance`,
        detail: when
          ? `It will be released at ${when}${why}. Save your work before then; billing stops at that time.`
          : `It will be released for maintenance${why}. Save your work.`,
        tone: 'warning',
        href,
        linkLabel,
      };
    }
    case 'gpu.unhealthy':
      return {
        title: `A GPU of ${label} failed`,
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
    case 'billing.auto_release_pending':
      return {
        title: 'Your allocations will be released soon',
        detail: money
          ? `${money} left. When it reaches zero your running allocations are released. Add credit now to keep them.`
          : 'When your balance reaches zero your running allocations are released. Add credit now to keep them.',
        tone: 'danger',
        href: '/billing?add_credit=1',
        linkLabel: 'Add credit',
      };
    case 'billing.balance_depleted':
      return {
        title: 'Your balance ran out',
        detail: 'Your running allocations are being released and new ones cannot start. Add credit to start again.',
        tone: 'danger',
        href: '/billing?add_credit=1',
        linkLabel: 'Add credit',
      };
    case 'payment.succeeded':
    case 'payment.failed':
    case 'payment.refunded': {
      const amount = n.amount_minor != null && n.currency ? formatMoney(n.amount_minor, n.currency) : null;
      const what = n.type === 'payment.succeeded' ? 'received' : n.type === 'payment.failed' ? 'failed' : 'refunded';
      return {
        title: amount ? `Payment of ${amount} ${what}` : `Payment ${what}`,
        detail: n.body ?? (n.type === 'payment.failed' ? 'Nothing was charged or credited.' : 'See billing for details.'),
        tone: n.type === 'payment.failed' ? 'danger' : n.type === 'payment.succeeded' ? 'success' : 'info',
        href: '/billing',
        linkLabel: 'Open billing',
      };
    }
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
