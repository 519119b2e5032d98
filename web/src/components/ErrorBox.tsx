// How every API error is shown: what it means for the person (by code), the
// server's own message, the code, and the correlation id to quote in a report.
import { describeError, toApiError, type ApiError } from '../api/errors';
import { CopyButton } from './CopyButton';

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
  const showServerMessage = err.message && err.message !== described;
  return (
    <div className={`error-box${compact ? ' compact' : ''}`} role="alert" data-testid="error-box" data-code={err.code}>
      <div className="error-box-main">
        <strong className="error-box-title">{title ?? described}</strong>
        {title && <p>{described}</p>}
        {showServerMessage && <p className="error-box-detail">{err.message}</p>}
        <dl className="error-box-meta">
          <div>
            <dt>Code</dt>
            <dd>
              <code>{err.code}</code>
              {err.status > 0 && <span className="muted"> · HTTP {err.status}</span>}
            </dd>
          </div>
          {err.correlationId && (
            <div>
              <dt>Correlation id</dt>
              <dd>
                <code data-testid="correlation-id">{err.correlationId}</code>
                <CopyButton text={err.correlationId} label="Copy correlation id" small />
              </dd>
            </div>
          )}
        </dl>
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
 * the mapped message, the server's own when it says more, and the correlation
 * id. `message` replaces both texts where the screen knows better.
 */
export function ApiFieldError({ error, message }: { error: ApiError; message?: string }) {
  const described = describeError(error);
  return (
    <>
      {message ?? described}
      {message === undefined && error.message && error.message !== described && <> ({error.message})</>}
      {error.correlationId && <span className="field-error-ref"> Correlation id {error.correlationId}</span>}
    </>
  );
}
