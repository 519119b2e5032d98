import { Link, useParams } from 'react-router';
import { Page } from '../../components/Page';
import { Placeholder } from '../Placeholder';

// TODO(issue 6, user screens): replace this placeholder with the real screen.
export function AllocationDetailPage() {
  const { id = '' } = useParams();
  return (
    <Page title={`Allocation ${id.slice(0, 8)}`} breadcrumb={<Link to="/allocations">Allocations</Link>}>
      <Placeholder
        todo={[
          "Live status via /ws/notifications (useNotificationListener), polling as the fallback (usePolling).",
          "Connection info with a copyable ssh command (<CopyButton>).",
          "Terminal panel with @xterm/xterm: mint POST …/terminal-token, open /ws/terminal/{id} with subprotocols [\"bearer\", token], session_ready, resize, reconnect.",
          "Release with <ConfirmDialog>.",
        ]}
      />
    </Page>
  );
}
