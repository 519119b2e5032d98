import { RouterProvider, createBrowserRouter } from 'react-router';
import { AnnouncerProvider } from '../components/Announcer';
import { ToastProvider } from '../components/Toast';
import { AuthProvider } from './auth';
import { CacheKeeper, QueryProvider } from './cache';
import { NotificationsProvider } from './notifications';
import { routes } from './routes';

const router = createBrowserRouter(routes);

export function App() {
  return (
    <QueryProvider>
      <AnnouncerProvider>
        <ToastProvider>
          <AuthProvider>
            <NotificationsProvider>
              <CacheKeeper />
              <RouterProvider router={router} />
            </NotificationsProvider>
          </AuthProvider>
        </ToastProvider>
      </AnnouncerProvider>
    </QueryProvider>
  );
}
