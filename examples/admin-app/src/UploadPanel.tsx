import { useMutation, useSubscription } from '@apollo/client/react';
import { type FormEvent, useState } from 'react';

import { ErrorBox } from './ErrorBox';
import { FILE_CHANGED, UPLOAD_FILE } from './operations';

interface LanguageFile {
  file: File;
  languageCode: string;
}

interface RelayList {
  edges: readonly unknown[];
  pageInfo?: { hasNextPage?: boolean };
}

/** A file's bytes as standard padded base64 (the `Base64` scalar). */
function toBase64(file: File): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    // A data URL: "data:<type>;base64,<bytes>".
    reader.onload = () => resolve(String(reader.result).split(',', 2)[1] ?? '');
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

export function UploadPanel() {
  const [admx, setAdmx] = useState<File | null>(null);
  const [admls, setAdmls] = useState<LanguageFile[]>([]);
  const [watching, setWatching] = useState<string | null>(null);
  const [upload, { error, loading, reset }] = useMutation(UPLOAD_FILE, {
    update(cache, { data }) {
      const file = data?.uploadGroupPolicyDefinitionFile;
      if (!file) {
        return;
      }
      cache.modify({
        fields: {
          // Uploads come last in the list: add the new file when the last page is held.
          groupPolicyUploadedDefinitionFiles(stored, { toReference }) {
            const existing = stored as RelayList;
            if (existing.pageInfo?.hasNextPage) {
              return stored;
            }
            const node = toReference({ __typename: 'GroupPolicyUploadedDefinitionFile', id: file.id });
            return {
              ...existing,
              edges: [...existing.edges, { __typename: 'GroupPolicyUploadedDefinitionFileEdge', cursor: '', node }],
            };
          },
        },
      });
    },
  });

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!admx) {
      return;
    }
    reset();
    setWatching(null);
    const input = {
      fileName: admx.name,
      content: await toBase64(admx),
      defaultLanguageCode: admls[0]?.languageCode ?? 'en-US',
      groupPolicyUploadedLanguageFiles: await Promise.all(
        admls.map(async ({ file, languageCode }) => ({ fileName: file.name, languageCode, content: await toBase64(file) })),
      ),
    };
    const result = await upload({ variables: { input } }).catch(() => null);
    const id = result?.data?.uploadGroupPolicyDefinitionFile.id;
    if (id) {
      setWatching(id);
    }
  };

  return (
    <section aria-labelledby="upload-title">
      <h2 id="upload-title">Upload an ADMX file</h2>
      <form className="upload" onSubmit={submit}>
        <label>
          ADMX file
          <input name="admx" type="file" accept=".admx" onChange={(e) => setAdmx(e.target.files?.[0] ?? null)} />
        </label>
        <label>
          ADML files
          <input
            name="adml"
            type="file"
            accept=".adml"
            multiple
            onChange={(e) => setAdmls([...(e.target.files ?? [])].map((file) => ({ file, languageCode: 'en-US' })))}
          />
        </label>
        {admls.map((adml, index) => (
          <label key={`${adml.file.name}-${index}`}>
            Language of {adml.file.name}
            <input
              name={`language-${index}`}
              value={adml.languageCode}
              onChange={(e) =>
                setAdmls(admls.map((other, i) => (i === index ? { ...other, languageCode: e.target.value } : other)))
              }
            />
          </label>
        ))}
        <button type="submit" disabled={!admx || loading}>
          Upload
        </button>
      </form>
      {error && <ErrorBox error={error} />}
      {watching && <UploadProgress key={watching} id={watching} />}
    </section>
  );
}

/** Follows an upload until Intune's work on it ends; the cache updates the file's list row. */
function UploadProgress({ id }: { id: string }) {
  const [finished, setFinished] = useState(false);
  const { data, error } = useSubscription(FILE_CHANGED, {
    variables: { id },
    onComplete: () => setFinished(true),
  });
  const file = data?.groupPolicyUploadedDefinitionFileChanged;
  const failure = file?.groupPolicyOperations.edges.find(({ node }) => node.operationStatus === 'FAILED')?.node;
  return (
    <div className="progress" role="status" data-finished={finished}>
      {error && <ErrorBox error={error} />}
      {file && (
        <p>
          {file.fileName}: <strong data-status={file.status}>{file.status}</strong>
          {finished ? ' — Intune finished.' : ' — Intune is processing…'}
        </p>
      )}
      {failure?.statusDetails && <p className="details">{failure.statusDetails}</p>}
    </div>
  );
}
