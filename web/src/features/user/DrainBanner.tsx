// The banner an allocation's owner sees while its node drains for
// maintenance (issue 14): when the allocation will be released, and why.
import type { Allocation } from '../../api/types';
import { formatDateTime, formatRelative } from '../../lib/format';
import { nodeDrain } from './allocations';

export function DrainBanner({ a, now }: { a: Allocation; now?: Date }) {
  const drain = nodeDrain(a);
  if (!drain) return null;
  return (
    <div className="status-banner status-banner-warning drain-banner" role="note" data-testid="drain-banner">
      <span className="drain-banner-icon" aria-hidden="true">
        !
      </span>
      <div>
        <p>
          <strong>
            This node goes into maintenance: your allocation will be released at{' '}
            <time dateTime={drain.deadline}>{formatDateTime(drain.deadline)}</time>
            {drain.reason ? ` (${drain.reason})` : ''}.
          </strong>
        </p>
        <p className="status-banner-detail">
          That is {formatRelative(drain.deadline, now)}. Save your work before then; billing stops at that time. You can
          release it sooner yourself, and create a new allocation on another node.
        </p>
      </div>
    </div>
  );
}
