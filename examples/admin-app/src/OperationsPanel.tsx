import type { Reference } from '@apollo/client';
import { useMutation, useQuery } from '@apollo/client/react';
import { type FormEvent, useState } from 'react';

import { ErrorBox } from './ErrorBox';
import type { GroupPolicyOperationStatus, GroupPolicyOperationType } from './gql/graphql';
import { FILE_OPERATIONS, RECORD_OPERATION } from './operations';

const PAGE_SIZE = 2;
const TYPES: GroupPolicyOperationType[] = [
  'UPLOAD',
  'UPLOAD_NEW_VERSION',
  'ADD_LANGUAGE_FILES',
  'REMOVE_LANGUAGE_FILES',
  'UPDATE_LANGUAGE_FILES',
  'REMOVE',
  'NONE',
];
const STATUSES: GroupPolicyOperationStatus[] = ['IN_PROGRESS', 'SUCCESS', 'FAILED', 'UNKNOWN'];

interface RelayList {
  edges: readonly unknown[];
  pageInfo?: { hasNextPage?: boolean };
}

export function OperationsPanel({ fileId }: { fileId: string }) {
  const { data, error, loading, fetchMore } = useQuery(FILE_OPERATIONS, {
    variables: { id: fileId, first: PAGE_SIZE },
    notifyOnNetworkStatusChange: true,
  });
  const connection = data?.groupPolicyOperations;
  return (
    <section aria-labelledby="operations-title">
      <h2 id="operations-title">Operations</h2>
      <p className="hint">File {fileId}</p>
      {error && <ErrorBox error={error} />}
      <ol className="operations">
        {connection?.edges.map(({ node }) => (
          <li key={node.id} data-operation-id={node.id}>
            <span className="type">{node.operationType}</span>{' '}
            <span className="status" data-status={node.operationStatus}>
              {node.operationStatus}
            </span>{' '}
            <span className="details">{node.statusDetails}</span>{' '}
            <time dateTime={node.lastModifiedDateTime}>{new Date(node.lastModifiedDateTime).toLocaleString()}</time>
          </li>
        ))}
      </ol>
      {connection?.pageInfo.hasNextPage && (
        <button
          type="button"
          disabled={loading}
          onClick={() => fetchMore({ variables: { after: connection.pageInfo.endCursor } })}
        >
          More operations
        </button>
      )}
      {connection && !connection.pageInfo.hasNextPage && <p className="hint">All {connection.edges.length} operations shown.</p>}
      {connection && <RecordForm fileId={fileId} />}
    </section>
  );
}

/** Records an operation; the new one joins the list when the list's last page is loaded. */
function RecordForm({ fileId }: { fileId: string }) {
  const [type, setType] = useState<GroupPolicyOperationType>('UPLOAD');
  const [status, setStatus] = useState<GroupPolicyOperationStatus>('IN_PROGRESS');
  const [details, setDetails] = useState('');
  const [record, { error, loading, reset }] = useMutation(RECORD_OPERATION, {
    update(cache, { data }) {
      const created = data?.createGroupPolicyOperation;
      if (!created) {
        return;
      }
      cache.modify({
        fields: {
          // The mutation returns a bare node: put it in this file's list ourselves. Only when
          // the last page is held; otherwise it arrives with the pages still to load.
          groupPolicyOperations(stored, { storeFieldName, toReference }) {
            const existing = stored as RelayList;
            if (!storeFieldName.includes(JSON.stringify(fileId)) || existing.pageInfo?.hasNextPage) {
              return stored;
            }
            const node = toReference({ __typename: 'GroupPolicyOperation', id: created.id }) as Reference;
            return { ...existing, edges: [...existing.edges, { __typename: 'GroupPolicyOperationEdge', cursor: '', node }] };
          },
        },
      });
    },
  });
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    reset();
    const input = { operationType: type, operationStatus: status, statusDetails: details || null };
    await record({ variables: { id: fileId, input } }).catch(() => undefined);
  };
  return (
    <form className="record" onSubmit={submit} aria-label="Record an operation">
      <h3>Record an operation</h3>
      <label>
        Type
        <select value={type} onChange={(e) => setType(e.target.value as GroupPolicyOperationType)}>
          {TYPES.map((t) => (
            <option key={t}>{t}</option>
          ))}
        </select>
      </label>
      <label>
        Status
        <select value={status} onChange={(e) => setStatus(e.target.value as GroupPolicyOperationStatus)}>
          {STATUSES.map((s) => (
            <option key={s}>{s}</option>
          ))}
        </select>
      </label>
      <label>
        Details
        <input value={details} onChange={(e) => setDetails(e.target.value)} />
      </label>
      <button type="submit" disabled={loading}>
        Record
      </button>
      {error && <ErrorBox error={error} />}
    </form>
  );
}
