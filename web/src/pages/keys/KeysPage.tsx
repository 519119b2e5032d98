import { Page } from '../../components/Page';
import { Placeholder } from '../Placeholder';

// TODO(issue 6, user screens): replace this placeholder with the real screen.
export function KeysPage() {
  return (
    <Page title="SSH keys" subtitle="Public keys installed on your allocations.">
      <Placeholder
        todo={[
          "List, add (name + public key, errors like invalid_ssh_key through <ErrorBox>), delete with <ConfirmDialog>.",
        ]}
      />
    </Page>
  );
}
