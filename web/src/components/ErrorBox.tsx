// How every API error is shown: what it means for the person, in words made
// from the error's code and details, the server's own words only where they
// name the field at fault, and behind a "Details" toggle the code and the
// correlation id to quote in a report.
import { useEffect, useRef } from 'react';
import { describeError, serverDetail, toApiError, type ApiError } from '../api/errors';
import { CopyButton } from './CopyButton';

function ErrorDetails({ err }: { err: ApiError }) {
  if (!err.correlationId && err.status === 0) return null;
  return (
    <details className="error-box-details">
      <summary>Details</summary>
      <dl className="error-box-meta">
        <div>
          <dt>Error</dt>
          <dd>
            <code>{err.code}</code>
          </dd>
        </div>
        {err.correlationId && (
          <div>
            <dt>Reference</dt>
            <dd>
              <code data-testid="correlation-id">{err.correlationId}</code>
              <CopyButton text={err.correlationId} label="Copy reference" small />
            </dd>
          </div>
        )}
      </dl>
    </details>
  );
}

export function ErrorBox({
  error,
  title,
  onRetry,
  compact = false,
}: {
  error: ApiError | unknown;
  title?: string;
  onRetry?: () => void;
  compact?: boolean;
}) {
  const err = toApiError(error);
  const described = describeError(err);
  const detail = serverDetail(err);
  // In a dialog the error may appear below the fold (a phone): bring it into view.
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = ref.current;
    if (el?.closest('.modal-body')) el.scrollIntoView?.({ block: 'nearest' });
  }, [err.code, err.correlationId]);
  return (
    <div
      ref={ref}
      className={`error-box${compact ? ' compact' : ''}`}
      role="alert"
      data-testid="error-box"
      data-code={err.code}
    >
      <div className="error-box-main">
        <strong className="error-box-title">{title ?? described}</strong>
        {title && <p>{described}</p>}
        {detail && <p className="error-box-detail">{detail}</p>}
        <ErrorDetails err={err} />
      </div>
      {onRetry && (
        <button type="button" className="button" onClick={onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}

/**
 * An API error shown under the form field it is about (as a Field's error):
 * the mapped message, the server's own when it names the field's problem.
 * `message` replaces both texts where the screen knows better. The reference
 * is left to the page's logs: a field error is about what was typed.
 */
export function ApiFieldError({ error, message }: { error: ApiError; message?: string }) {
  const described = describeError(error);
  const detail = serverDetail(error);
  return (
    <>
      {message ?? described}
      {message === undefined && detail && <> ({detail})</>}
    </>
  );
}
