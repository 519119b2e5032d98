import { Page } from '../../components/Page';
import { Placeholder } from '../Placeholder';

// TODO(issue 6, admin screens): replace this placeholder with the real screen.
export function AdminAllocationsPage() {
  return (
    <Page title="All allocations" subtitle="Every allocation of every user.">
      <Placeholder
        todo={[
          "Filters (status, user); force-release with a required reason in a <ConfirmDialog>.",
        ]}
      />
    </Page>
  );
}
