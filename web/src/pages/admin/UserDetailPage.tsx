import { Link, useParams } from 'react-router';
import { Page } from '../../components/Page';
import { Placeholder } from '../Placeholder';

// TODO(issue 6, admin screens): replace this placeholder with the real screen.
export function UserDetailPage() {
  const { id = '' } = useParams();
  return (
    <Page title={`User ${id.slice(0, 8)}`} breadcrumb={<Link to="/admin/users">Users</Link>}>
      <Placeholder
        todo={[
          "One user; balance adjustment (POST …/balance with an Idempotency-Key); links to their allocations and audit entries.",
        ]}
      />
    </Page>
  );
}
