import { Page } from '../../components/Page';
import { Placeholder } from '../Placeholder';

// TODO(issue 6, admin screens): replace this placeholder with the real screen.
export function AuditLogsPage() {
  return (
    <Page title="Audit logs" subtitle="Every change, who made it and when.">
      <Placeholder
        todo={[
          "Filters (actor, action, target, since/until), cursor pagination, CSV export via download().",
        ]}
      />
    </Page>
  );
}
