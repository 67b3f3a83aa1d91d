import { useEffect, useState } from 'react';

import { httpUrl } from './apollo';
import { FilesPanel } from './FilesPanel';
import { OperationsPanel } from './OperationsPanel';
import { UploadPanel } from './UploadPanel';

/** The selected definition file lives in the URL (#/files/ID), so a link opens it. */
function fileFromHash(): string | null {
  const match = /^#\/files\/([^/]+)$/.exec(location.hash);
  return match ? decodeURIComponent(match[1]) : null;
}

export function App() {
  const [selected, setSelected] = useState(fileFromHash);
  useEffect(() => {
    const onHash = () => setSelected(fileFromHash());
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);
  const select = (id: string) => {
    location.hash = `#/files/${encodeURIComponent(id)}`;
  };
  return (
    <>
      <header>
        <h1>Intune definition files</h1>
        <span className="endpoint">gateway: {httpUrl}</span>
      </header>
      <main>
        <div className="column">
          <FilesPanel selected={selected} onSelect={select} />
          <UploadPanel />
        </div>
        <div className="column">
          {selected ? <OperationsPanel key={selected} fileId={selected} /> : <p className="hint">Select a file to see its operations.</p>}
        </div>
      </main>
    </>
  );
}
