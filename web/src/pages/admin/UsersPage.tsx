import { Page } from '../../components/Page';
import { Placeholder } from '../Placeholder';

// TODO(issue 6, admin screens): replace this placeholder with the real screen.
export function UsersPage() {
  return (
    <Page title="Users" subtitle="Every account on the platform.">
      <Placeholder
        todo={[
          "List with search, role filter and cursor pagination; create user in a <Modal>.",
        ]}
      />
    </Page>
  );
}
