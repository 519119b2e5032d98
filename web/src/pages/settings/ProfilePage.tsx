import { Page } from '../../components/Page';
import { Placeholder } from '../Placeholder';

// TODO(issue 6, user screens): replace this placeholder with the real screen.
export function ProfilePage() {
  return (
    <Page title="Profile" subtitle="Your account.">
      <Placeholder
        todo={[
          "Show useUser() (username, email, role, created); change password (POST /api/v1/users/me/password; weak_password via <ErrorBox>).",
        ]}
      />
    </Page>
  );
}
