import { describeError } from './errors';

/** An error as the user reads it, with the gateway's code for support and tests. */
export function ErrorBox({ error }: { error: unknown }) {
  const problem = describeError(error);
  return (
    <div className="error" role="alert" data-code={problem.code ?? 'NETWORK'}>
      <strong>{problem.message}</strong>
      {problem.detail && <small>{problem.detail}</small>}
    </div>
  );
}
