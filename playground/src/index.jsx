// The gpo-gateway playground: GraphiQL wired to the gateway that serves this page.
//
// Everything here is bundled by build.mjs into assets the gateway embeds, so the page works
// without internet access: queries and mutations go to same-origin /graphql over HTTP,
// subscriptions over a graphql-transport-ws WebSocket to the same path.
import { createGraphiQLFetcher } from '@graphiql/toolkit';
import { GraphiQL } from 'graphiql';
import { Kind, parse } from 'graphql';
import { createClient } from 'graphql-ws';
import { createRoot } from 'react-dom/client';
import examples from 'gpo:examples';

import 'graphiql/style.css';
import './playground.css';

const httpUrl = new URL('/graphql', window.location.href).href;
const wsUrl = `${window.location.protocol === 'https:' ? 'wss' : 'ws'}://${window.location.host}/graphql`;

// The gateway reads the caller's `Authorization` from the connection_init payload of a
// WebSocket, so the headers typed into GraphiQL's headers editor travel there too. One client
// serves all subscriptions while the headers stay the same; changing them opens a new one.
let current = null;

function fetcherFor(headers) {
  const key = JSON.stringify(headers ?? {});
  if (current === null || current.key !== key) {
    current?.client.dispose();
    const client = createClient({
      url: wsUrl,
      connectionParams: headers ?? {},
      lazy: true,
      lazyCloseTimeout: 5_000,
      retryAttempts: 3,
    });
    const fetcher = createGraphiQLFetcher({
      url: httpUrl,
      wsClient: client,
      // The gateway answers plain JSON; no @defer/@stream, so no multipart responses.
      enableIncrementalDelivery: false,
    });
    current = { key, client, fetcher };
  }
  return current.fetcher;
}

// GraphiQL derives the operation name from the query editor a moment after its text changes,
// so right after switching tabs it can still send the previous tab's name with the new tab's
// query, which the gateway rightly refuses ("Unknown operation named ..."). A name the
// document does not define is dropped, or replaced by the document's only operation's name.
function withDefinedOperationName(params) {
  if (!params.operationName) {
    return params;
  }
  let names;
  try {
    names = parse(params.query)
      .definitions.filter((definition) => definition.kind === Kind.OPERATION_DEFINITION)
      .map((definition) => definition.name?.value);
  } catch {
    return params; // not GraphQL: the gateway says why
  }
  if (names.includes(params.operationName)) {
    return params;
  }
  return { ...params, operationName: names.length === 1 ? names[0] : undefined };
}

const fetcher = (params, options) =>
  fetcherFor(options?.headers)(withDefinedOperationName(params), options);

// The first tab opens on the first example (listing operations) with its variables.
const defaultTabs = examples.map(({ query, variables }) => ({ query, variables }));

// GraphiQL fills the first tab's query editor from defaultTabs but not its variables editor,
// so a first visit (no tabs stored by GraphiQL yet) passes them explicitly. Later visits
// restore what the user left; passing them then would add a tab on every reload.
function isFirstVisit() {
  try {
    return window.localStorage.getItem('graphiql:tabState') === null;
  } catch {
    return true;
  }
}
const initialVariables = isFirstVisit() ? defaultTabs[0].variables : undefined;

function Playground() {
  return (
    <GraphiQL
      fetcher={fetcher}
      defaultTabs={defaultTabs}
      variables={initialVariables}
      defaultEditorToolsVisibility="variables"
      shouldPersistHeaders={false}
    >
      <GraphiQL.Logo>
        <span className="gpo-logo">gpo-gateway playground</span>
      </GraphiQL.Logo>
    </GraphiQL>
  );
}

createRoot(document.getElementById('graphiql')).render(<Playground />);
