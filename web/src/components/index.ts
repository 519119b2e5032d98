// Shared building blocks for every screen. Import from 'components'.
export { AnnouncerProvider, useAnnounce } from './Announcer';
export { ConfirmDialog } from './ConfirmDialog';
export { CopyButton } from './CopyButton';
export { DataTable, type Column } from './DataTable';
export { ErrorBox } from './ErrorBox';
export { Field, type FieldControlProps } from './Field';
export { FilterBar, SearchFilter, SelectFilter } from './Filters';
export { Modal } from './Modal';
export { Money } from './Money';
export { Card, Page, Stat } from './Page';
export { Pagination, useCursorPager, type CursorPager } from './Pagination';
export { Empty, Loading, Restricted, StateView } from './StateView';
export { StatusPill, statusTone, type Tone } from './StatusPill';
export { ToastProvider, useToast, type ToastInput } from './Toast';
