import { Link } from 'react-router';
import { Empty } from '../components/StateView';
import { Page } from '../components/Page';

export function NotFoundPage() {
  return (
    <Page title="Page not found">
      <Empty
        title="There is nothing at this address"
        hint="The link may be old, or the page may have moved."
        action={
          <Link to="/marketplace" className="button primary">
            Go to the marketplace
          </Link>
        }
      />
    </Page>
  );
}
