// A plain, accessible table. Columns say how to render a cell; rows can be
// made clickable (and then reachable with Tab and opened with Enter). Below
// 640 px every row becomes a card: one line per cell, labelled with its
// column's header (data-label, drawn by styles.css), so nothing scrolls sideways.
//
//   <DataTable caption="Allocations" rows={items} rowKey={(a) => a.id}
//     onRowClick={(a) => navigate(`/allocations/${a.id}`)}
//     columns={[{ key: 'name', header: 'Name', render: (a) => a.name },
//               { key: 'status', header: 'Status', render: (a) => <StatusPill status={a.status} /> }]} />
import type { ReactNode } from 'react';

export interface Column<T> {
  key: string;
  header: ReactNode;
  render: (row: T) => ReactNode;
  align?: 'left' | 'right' | 'center';
  /** Left out of the cards below 640 px, where only what identifies a row and its state fits. */
  hideOnMobile?: boolean;
  /** The cell's label in the phone card layout; defaults to the header when that is text. */
  label?: string;
  width?: string;
}

export function DataTable<T>({
  columns,
  rows,
  rowKey,
  caption,
  onRowClick,
  rowLabel,
  footer,
}: {
  columns: Column<T>[];
  rows: T[];
  rowKey: (row: T) => string;
  /** For screen readers; visually hidden. */
  caption?: string;
  onRowClick?: (row: T) => void;
  /** Accessible name of a clickable row, e.g. "Open allocation train-1". */
  rowLabel?: (row: T) => string;
  footer?: ReactNode;
}) {
  return (
    <div className="table-wrap">
      <table className="table table-cards">
        {caption && <caption className="sr-only">{caption}</caption>}
        <thead>
          <tr>
            {columns.map((c) => (
              <th
                key={c.key}
                scope="col"
                style={{ textAlign: c.align ?? 'left', width: c.width }}
                className={c.hideOnMobile ? 'hide-mobile' : undefined}
              >
                {c.header}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr
              key={rowKey(row)}
              data-row-key={rowKey(row)}
              className={onRowClick ? 'clickable' : undefined}
              tabIndex={onRowClick ? 0 : undefined}
              aria-label={onRowClick && rowLabel ? rowLabel(row) : undefined}
              onClick={onRowClick ? () => onRowClick(row) : undefined}
              onKeyDown={
                onRowClick
                  ? (e) => {
                      if ((e.key === 'Enter' || e.key === ' ') && e.target === e.currentTarget) {
                        e.preventDefault();
                        onRowClick(row);
                      }
                    }
                  : undefined
              }
            >
              {columns.map((c) => (
                <td
                  key={c.key}
                  style={{ textAlign: c.align ?? 'left' }}
                  className={c.hideOnMobile ? 'hide-mobile' : undefined}
                  data-label={c.label ?? (typeof c.header === 'string' ? c.header : undefined)}
                >
                  {c.render(row)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      {footer && <div className="table-footer">{footer}</div>}
    </div>
  );
}
