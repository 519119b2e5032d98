import { Page } from '../../components/Page';
import { Placeholder } from '../Placeholder';

// TODO(issue 6, user screens): replace this placeholder with the real screen.
export function NotificationsPage() {
  return (
    <Page title="Notifications" subtitle="What happened while you were here.">
      <Placeholder
        todo={[
          "The notifications centre: useNotifications().messages (newest first), describeNotification(), links to allocations; markAllRead() on open.",
        ]}
      />
    </Page>
  );
}
