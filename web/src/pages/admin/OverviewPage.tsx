import { Page } from '../../components/Page';
import { Placeholder } from '../Placeholder';

// TODO(issue 6, admin screens): replace this placeholder with the real screen.
export function OverviewPage() {
  return (
    <Page title="Overview" subtitle="The platform at a glance.">
      <Placeholder
        todo={[
          "GET /api/v1/admin/overview, auto-refreshing (usePolling) with pause/resume and a last-updated stamp (useApi().updatedAt).",
        ]}
      />
    </Page>
  );
}
