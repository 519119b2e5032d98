import { Page } from '../../components/Page';
import { Placeholder } from '../Placeholder';

// TODO(issue 6, user screens): replace this placeholder with the real screen.
export function AllocationsPage() {
  return (
    <Page title="Allocations" subtitle="Your GPU allocations.">
      <Placeholder
        todo={[
          "List with a status filter, a search box and a \"showing x of y\" counter (cursor pages via useCursorPager).",
          "Rows open /allocations/:id (DataTable onRowClick); statuses as <StatusPill>.",
          "Live updates: useNotificationListener for allocation.status, usePolling as the fallback.",
        ]}
      />
    </Page>
  );
}
