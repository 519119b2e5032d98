import { Page } from '../../components/Page';
import { Placeholder } from '../Placeholder';

// TODO(issue 6, admin screens): replace this placeholder with the real screen.
export function NodesPage() {
  return (
    <Page title="Nodes" subtitle="GPU hosts and their health.">
      <Placeholder
        todo={[
          "List with status filter and search; GPU health and agent version.",
          "Create, showing the join token once; probe; disable (button off while the node has allocated GPUs).",
        ]}
      />
    </Page>
  );
}
