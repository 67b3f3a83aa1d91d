import { useQuery } from '@apollo/client/react';

import { ErrorBox } from './ErrorBox';
import { FILES_PAGE } from './operations';

/** Files per page: small, so paging shows with the demo data. */
export const FILES_PAGE_SIZE = 2;

export function FilesPanel({ selected, onSelect }: { selected: string | null; onSelect: (id: string) => void }) {
  const { data, error, loading, fetchMore } = useQuery(FILES_PAGE, {
    variables: { first: FILES_PAGE_SIZE },
    notifyOnNetworkStatusChange: true,
  });
  const connection = data?.groupPolicyUploadedDefinitionFiles;
  return (
    <section aria-labelledby="files-title">
      <h2 id="files-title">Uploaded ADMX files</h2>
      {error && <ErrorBox error={error} />}
      <table className="files">
        <thead>
          <tr>
            <th>File</th>
            <th>Name</th>
            <th>Status</th>
            <th>Languages</th>
          </tr>
        </thead>
        <tbody>
          {connection?.edges.map(({ node }) => (
            <tr
              key={node.id}
              data-file-id={node.id}
              className={node.id === selected ? 'selected' : undefined}
              onClick={() => onSelect(node.id)}
            >
              <td>
                <button type="button" className="link">
                  {node.fileName ?? node.id}
                </button>
              </td>
              <td>{node.displayName}</td>
              <td className="status" data-status={node.status}>
                {node.status}
              </td>
              <td>{node.languageCodes.join(', ')}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {connection?.pageInfo.hasNextPage && (
        <button
          type="button"
          disabled={loading}
          onClick={() => fetchMore({ variables: { after: connection.pageInfo.endCursor } })}
        >
          More files
        </button>
      )}
      {connection && !connection.pageInfo.hasNextPage && <p className="hint">All {connection.edges.length} files shown.</p>}
    </section>
  );
}
