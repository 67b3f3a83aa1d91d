// A real Apollo Client 4 against a running gateway (GATEWAY_URL, e.g. http://127.0.0.1:4000).
//
// Each test builds its own client over a link chain that records every HTTP request it makes,
// so the tests can tell what Apollo sent (cache hits send nothing, persisted queries send a
// hash, batches send an array) as well as what it got back. The gateway must run in store mode
// with the demo data (definition file DEMO_FILE, operation DEMO_OP).
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, describe, test } from 'node:test';

import {
  ApolloClient,
  ApolloLink,
  CombinedGraphQLErrors,
  HttpLink,
  InMemoryCache,
  gql,
} from '@apollo/client';
import { BatchHttpLink } from '@apollo/client/link/batch-http';
import { PersistedQueryLink } from '@apollo/client/link/persisted-queries';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { getMainDefinition } from '@apollo/client/utilities';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

// The bearer token sent over HTTP and in connection_init. A Graph-mode gateway forwards it to
// Graph; the store ignores it.
const TOKEN = process.env.GATEWAY_TOKEN ?? 'test';
const AUTH_HEADERS = { authorization: `Bearer ${TOKEN}` };
const BASE = (process.env.GATEWAY_URL ?? '').replace(/\/+$/, '');
if (!BASE) {
  throw new Error('GATEWAY_URL is not set: point it at a running gateway, e.g. http://127.0.0.1:4000');
}
const HTTP_URL = `${BASE}/graphql`;

// Apollo's GraphQLWsLink classifies every non-Error it gets from graphql-ws (including the
// GraphQL errors of a subscription) by comparing with the global `WebSocket.CLOSED`, which
// Node 20 lacks (ReferenceError). Node 22+ and browsers have the global; give Node 20 ws's.
globalThis.WebSocket ??= WebSocket;
const WS_URL = `${HTTP_URL.replace(/^http/, 'ws')}`;

const DEMO_FILE = 'a1f5c3d2-7b64-4e0f-9c21-3d8e5f6a7b01';
const DEMO_OP = '0c9e4b7a-1d2f-4a6b-8e3c-5f7a9b1c2d01';
const DEMO_OP_2 = '0c9e4b7a-1d2f-4a6b-8e3c-5f7a9b1c2d02';
const DEMO_OP_3 = '0c9e4b7a-1d2f-4a6b-8e3c-5f7a9b1c2d03';

/** Per-test limit: a hang fails the test instead of blocking the run. */
const TIMEOUT = 30_000;

const OP_FIELDS = gql`
  fragment OpFields on GroupPolicyOperation {
    id
    definitionFileId
    operationType
    operationStatus
    statusDetails
    lastModifiedDateTime
  }
`;

const LIST = gql`
  query ListOps($f: ID!, $first: Int) {
    groupPolicyOperations(definitionFileId: $f, first: $first) {
      nodes {
        ...OpFields
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
  ${OP_FIELDS}
`;

const GET = gql`
  query GetOp($f: ID!, $id: ID!) {
    groupPolicyOperation(definitionFileId: $f, id: $id) {
      ...OpFields
    }
  }
  ${OP_FIELDS}
`;

const CREATE = gql`
  mutation CreateOp($f: ID!, $input: CreateGroupPolicyOperationInput!) {
    createGroupPolicyOperation(definitionFileId: $f, input: $input) {
      ...OpFields
    }
  }
  ${OP_FIELDS}
`;

const UPDATE = gql`
  mutation UpdateOp($f: ID!, $id: ID!, $input: UpdateGroupPolicyOperationInput!) {
    updateGroupPolicyOperation(definitionFileId: $f, id: $id, input: $input) {
      ...OpFields
    }
  }
  ${OP_FIELDS}
`;

const DELETE = gql`
  mutation DeleteOp($f: ID!, $id: ID!) {
    deleteGroupPolicyOperation(definitionFileId: $f, id: $id)
  }
`;

const CHANGED = gql`
  subscription OpChanged($f: ID!, $id: ID!) {
    groupPolicyOperationChanged(definitionFileId: $f, id: $id) {
      ...OpFields
    }
  }
  ${OP_FIELDS}
`;

/**
 * A `fetch` that records each request (method, URL, parsed JSON body) and the HTTP status of
 * its answer before handing the answer to Apollo unchanged.
 */
function recordingFetch() {
  const calls = [];
  const fetchFn = async (input, init = {}) => {
    const call = {
      method: (init.method ?? 'GET').toUpperCase(),
      url: String(input),
      headers: Object.fromEntries(new Headers(init.headers ?? {}).entries()),
      body: typeof init.body === 'string' ? JSON.parse(init.body) : undefined,
    };
    calls.push(call);
    const response = await fetch(input, init);
    call.status = response.status;
    return response;
  };
  return { calls, fetch: fetchFn };
}

function newClient(link) {
  return new ApolloClient({ link, cache: new InMemoryCache() });
}

/** Rejects with a clear message when `promise` takes longer than `ms`. */
function within(ms, promise, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The `extensions.code` of each GraphQL error Apollo reports, after checking its type. */
function codesOf(error) {
  assert.ok(
    CombinedGraphQLErrors.is(error),
    `expected CombinedGraphQLErrors, got ${error?.name}: ${error?.message}`,
  );
  return error.errors.map((e) => e.extensions?.code);
}

/** Deletes operations created by a test through a plain client (best effort). */
const created = [];
after(async () => {
  const client = newClient(new HttpLink({ uri: HTTP_URL, headers: AUTH_HEADERS }));
  for (const id of created) {
    try {
      await client.mutate({ mutation: DELETE, variables: { f: DEMO_FILE, id } });
    } catch {
      // Already deleted by the test itself.
    }
  }
  client.stop();
});

describe('Apollo Client 4 over HttpLink', () => {
  test('list and single queries are normalized and served from the cache the second time', { timeout: TIMEOUT }, async () => {
    const rec = recordingFetch();
    const client = newClient(new HttpLink({ uri: HTTP_URL, headers: AUTH_HEADERS, fetch: rec.fetch }));
    try {
      const list = await client.query({ query: LIST, variables: { f: DEMO_FILE, first: 10 } });
      assert.equal(list.error, undefined);
      const nodes = list.data.groupPolicyOperations.nodes;
      const ids = nodes.map((n) => n.id);
      for (const id of [DEMO_OP, DEMO_OP_2, DEMO_OP_3]) {
        assert.ok(ids.includes(id), `the list holds ${id}: ${ids}`);
      }
      const demo = nodes.find((n) => n.id === DEMO_OP);
      assert.equal(demo.__typename, 'GroupPolicyOperation');
      assert.equal(demo.definitionFileId, DEMO_FILE);
      assert.equal(demo.operationType, 'UPLOAD');
      assert.equal(demo.operationStatus, 'SUCCESS');
      assert.equal(rec.calls.length, 1);
      assert.equal(rec.calls[0].method, 'POST');
      assert.equal(rec.calls[0].body.operationName, 'ListOps');
      assert.equal(rec.calls[0].status, 200);

      const single = await client.query({ query: GET, variables: { f: DEMO_FILE, id: DEMO_OP } });
      assert.equal(single.data.groupPolicyOperation.id, DEMO_OP);
      assert.equal(single.data.groupPolicyOperation.operationType, 'UPLOAD');
      assert.equal(
        single.data.groupPolicyOperation.statusDetails,
        'chrome.admx and en-US/chrome.adml imported: 412 policies',
      );
      assert.equal(rec.calls.length, 2);

      // The operation is stored once, under its normalized id.
      const cacheId = client.cache.identify({ __typename: 'GroupPolicyOperation', id: DEMO_OP });
      assert.equal(cacheId, `GroupPolicyOperation:${DEMO_OP}`);
      const entry = client.cache.extract()[cacheId];
      assert.ok(entry, `the cache holds ${cacheId}`);
      assert.equal(entry.operationStatus, 'SUCCESS');

      // The same queries again: answered from the cache, no request leaves.
      const list2 = await client.query({ query: LIST, variables: { f: DEMO_FILE, first: 10 } });
      const single2 = await client.query({ query: GET, variables: { f: DEMO_FILE, id: DEMO_OP } });
      assert.deepEqual(list2.data, list.data);
      assert.deepEqual(single2.data, single.data);
      assert.equal(rec.calls.length, 2, 'identical queries are served from the cache');

      // Different variables are a different query: one more request.
      const other = await client.query({ query: GET, variables: { f: DEMO_FILE, id: DEMO_OP_3 } });
      assert.equal(other.data.groupPolicyOperation.operationStatus, 'FAILED');
      assert.equal(
        other.data.groupPolicyOperation.statusDetails,
        'fr-FR/chrome.adml : la chaîne « SyncDisabled » est introuvable',
      );
      assert.equal(rec.calls.length, 3);
    } finally {
      client.stop();
    }
  });

  test('create then update: the mutation result updates the normalized cache entry', { timeout: TIMEOUT }, async () => {
    const rec = recordingFetch();
    const client = newClient(new HttpLink({ uri: HTTP_URL, headers: AUTH_HEADERS, fetch: rec.fetch }));
    try {
      const createdResult = await client.mutate({
        mutation: CREATE,
        variables: {
          f: DEMO_FILE,
          input: { operationType: 'ADD_LANGUAGE_FILES', operationStatus: 'IN_PROGRESS', statusDetails: 'apollo: importing' },
        },
      });
      const op = createdResult.data.createGroupPolicyOperation;
      created.push(op.id);
      assert.match(op.id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      assert.equal(op.definitionFileId, DEMO_FILE);
      assert.equal(op.operationStatus, 'IN_PROGRESS');

      const cacheId = client.cache.identify(op);
      assert.equal(cacheId, `GroupPolicyOperation:${op.id}`);
      assert.equal(client.cache.extract()[cacheId]?.operationStatus, 'IN_PROGRESS');

      // A watched query over the new operation: it must see the update without refetching.
      const seen = [];
      const watch = client
        .watchQuery({ query: GET, variables: { f: DEMO_FILE, id: op.id } })
        .subscribe((result) => {
          if (result.data?.groupPolicyOperation) {
            seen.push(result.data.groupPolicyOperation.operationStatus);
          }
        });
      try {
        await waitFor(() => seen.includes('IN_PROGRESS'), 'the watched query');
        const requestsBefore = rec.calls.length;

        const updated = await client.mutate({
          mutation: UPDATE,
          variables: {
            f: DEMO_FILE,
            id: op.id,
            input: { operationStatus: 'SUCCESS', statusDetails: 'apollo: done' },
          },
        });
        assert.equal(updated.data.updateGroupPolicyOperation.id, op.id);
        assert.equal(updated.data.updateGroupPolicyOperation.operationStatus, 'SUCCESS');
        assert.equal(rec.calls.length, requestsBefore + 1, 'only the mutation went out');

        const fragment = client.cache.readFragment({
          id: cacheId,
          fragment: OP_FIELDS,
          fragmentName: 'OpFields',
        });
        assert.equal(fragment.operationStatus, 'SUCCESS');
        assert.equal(fragment.statusDetails, 'apollo: done');
        assert.equal(fragment.operationType, 'ADD_LANGUAGE_FILES');
        assert.ok(
          Date.parse(fragment.lastModifiedDateTime) >= Date.parse(op.lastModifiedDateTime),
          `lastModifiedDateTime moves forward: ${op.lastModifiedDateTime} -> ${fragment.lastModifiedDateTime}`,
        );

        await waitFor(() => seen.includes('SUCCESS'), 'the watched query to see SUCCESS');
        assert.equal(rec.calls.length, requestsBefore + 1, 'the watched query did not refetch');

        // Reading the single operation now costs no request either.
        const fromCache = await client.query({ query: GET, variables: { f: DEMO_FILE, id: op.id } });
        assert.equal(fromCache.data.groupPolicyOperation.operationStatus, 'SUCCESS');
        assert.equal(rec.calls.length, requestsBefore + 1);

        // ...while the server agrees.
        const fromServer = await client.query({
          query: GET,
          variables: { f: DEMO_FILE, id: op.id },
          fetchPolicy: 'network-only',
        });
        assert.equal(fromServer.data.groupPolicyOperation.operationStatus, 'SUCCESS');
        assert.equal(fromServer.data.groupPolicyOperation.statusDetails, 'apollo: done');
      } finally {
        watch.unsubscribe();
      }

      const deleted = await client.mutate({ mutation: DELETE, variables: { f: DEMO_FILE, id: op.id } });
      assert.equal(deleted.data.deleteGroupPolicyOperation, op.id);
    } finally {
      client.stop();
    }
  });

  test('error codes arrive in extensions.code through CombinedGraphQLErrors', { timeout: TIMEOUT }, async () => {
    const client = newClient(new HttpLink({ uri: HTTP_URL, headers: AUTH_HEADERS }));
    try {
      // A malformed GUID: BAD_USER_INPUT. Apollo's default errorPolicy ("none") rejects.
      await assert.rejects(
        client.query({ query: GET, variables: { f: 'not-a-guid', id: DEMO_OP } }),
        (error) => {
          assert.deepEqual(codesOf(error), ['BAD_USER_INPUT']);
          assert.deepEqual(error.errors[0].path, ['groupPolicyOperation']);
          assert.match(error.message, /definitionFileId/);
          return true;
        },
      );

      // Deleting an operation that is not there: NOT_FOUND.
      const missing = randomUUID();
      await assert.rejects(
        client.mutate({ mutation: DELETE, variables: { f: DEMO_FILE, id: missing } }),
        (error) => {
          assert.deepEqual(codesOf(error), ['NOT_FOUND']);
          return true;
        },
      );

      // With errorPolicy "all" the error comes back on the result instead.
      const result = await client.mutate({
        mutation: DELETE,
        variables: { f: DEMO_FILE, id: missing },
        errorPolicy: 'all',
      });
      assert.deepEqual(codesOf(result.error), ['NOT_FOUND']);

      // A missing operation is not an error for the single-operation query: it is null.
      const none = await client.query({ query: GET, variables: { f: DEMO_FILE, id: missing } });
      assert.equal(none.error, undefined);
      assert.equal(none.data.groupPolicyOperation, null);
    } finally {
      client.stop();
    }
  });
});

describe('Apollo Client 4 links', () => {
  test('PersistedQueryLink: miss, register, then hit with the hash alone', { timeout: TIMEOUT }, async () => {
    const rec = recordingFetch();
    const sha256 = (text) => createHash('sha256').update(text).digest('hex');
    const link = new PersistedQueryLink({ sha256 }).concat(new HttpLink({ uri: HTTP_URL, headers: AUTH_HEADERS, fetch: rec.fetch }));
    const client = newClient(link);
    // A query text no earlier run has registered, so the first use must miss.
    const name = `Apq_${randomUUID().replaceAll('-', '')}`;
    const query = gql(`query ${name}($f: ID!, $id: ID!) {
      groupPolicyOperation(definitionFileId: $f, id: $id) { id operationType operationStatus }
    }`);
    const variables = { f: DEMO_FILE, id: DEMO_OP };
    try {
      const first = await client.query({ query, variables, fetchPolicy: 'network-only' });
      assert.equal(first.data.groupPolicyOperation.id, DEMO_OP);
      assert.equal(first.data.groupPolicyOperation.operationType, 'UPLOAD');

      // 1: hash only -> PERSISTED_QUERY_NOT_FOUND; 2: hash and query -> registered and run.
      assert.equal(rec.calls.length, 2, `requests: ${JSON.stringify(rec.calls.map((c) => c.body))}`);
      const [miss, register] = rec.calls;
      const hash = miss.body.extensions?.persistedQuery?.sha256Hash;
      assert.match(hash ?? '', /^[0-9a-f]{64}$/);
      assert.equal(miss.body.extensions.persistedQuery.version, 1);
      assert.equal(miss.body.query, undefined, 'the first request sends no query text');
      assert.equal(register.body.extensions.persistedQuery.sha256Hash, hash);
      assert.equal(typeof register.body.query, 'string');
      assert.equal(sha256(register.body.query), hash, 'the hash is the SHA-256 of the sent text');

      // The gateway really answered the miss as Apollo expects.
      const probe = await fetch(HTTP_URL, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...AUTH_HEADERS },
        body: JSON.stringify({
          extensions: { persistedQuery: { version: 1, sha256Hash: sha256(`${register.body.query} `) } },
        }),
      });
      const probeBody = await probe.json();
      assert.equal(probeBody.errors?.[0]?.extensions?.code, 'PERSISTED_QUERY_NOT_FOUND');

      // Second use: one request, with the hash and no query text.
      const second = await client.query({ query, variables, fetchPolicy: 'network-only' });
      assert.deepEqual(second.data, first.data);
      assert.equal(rec.calls.length, 3);
      const hit = rec.calls[2];
      assert.equal(hit.body.query, undefined, 'a hit sends the hash alone');
      assert.equal(hit.body.extensions.persistedQuery.sha256Hash, hash);
      assert.deepEqual(hit.body.variables, variables);
      assert.equal(hit.status, 200);

      // A brand-new client (empty cache, same gateway) hits at once too.
      const rec2 = recordingFetch();
      const client2 = newClient(
        new PersistedQueryLink({ sha256 }).concat(new HttpLink({ uri: HTTP_URL, headers: AUTH_HEADERS, fetch: rec2.fetch })),
      );
      try {
        const third = await client2.query({ query, variables });
        assert.deepEqual(third.data, first.data);
        assert.equal(rec2.calls.length, 1);
        assert.equal(rec2.calls[0].body.query, undefined);
      } finally {
        client2.stop();
      }
    } finally {
      client.stop();
    }
  });

  test('BatchHttpLink sends several operations in one HTTP request', { timeout: TIMEOUT }, async () => {
    const rec = recordingFetch();
    const client = newClient(
      new BatchHttpLink({ uri: HTTP_URL, headers: AUTH_HEADERS, fetch: rec.fetch, batchMax: 10, batchInterval: 50 }),
    );
    try {
      const ids = [DEMO_OP, DEMO_OP_2, DEMO_OP_3];
      const results = await Promise.all([
        ...ids.map((id) => client.query({ query: GET, variables: { f: DEMO_FILE, id } })),
        client.query({ query: LIST, variables: { f: DEMO_FILE, first: 2 } }),
      ]);

      assert.equal(rec.calls.length, 1, 'one HTTP request for the whole batch');
      const [call] = rec.calls;
      assert.equal(call.method, 'POST');
      assert.equal(call.status, 200);
      assert.ok(Array.isArray(call.body), 'the body is a JSON array');
      assert.equal(call.body.length, 4);
      assert.deepEqual(
        call.body.map((op) => op.operationName),
        ['GetOp', 'GetOp', 'GetOp', 'ListOps'],
      );

      const statuses = results.slice(0, 3).map((r) => r.data.groupPolicyOperation.operationStatus);
      assert.deepEqual(
        results.slice(0, 3).map((r) => r.data.groupPolicyOperation.id),
        ids,
      );
      assert.deepEqual(statuses, ['SUCCESS', 'IN_PROGRESS', 'FAILED']);
      const page = results[3].data.groupPolicyOperations;
      assert.equal(page.nodes.length, 2);
      assert.equal(page.pageInfo.hasNextPage, true);
      assert.equal(typeof page.pageInfo.endCursor, 'string');
    } finally {
      client.stop();
    }
  });

  test('GraphQLWsLink: a subscription follows an operation to SUCCESS and completes', { timeout: TIMEOUT }, async () => {
    const rec = recordingFetch();
    let connected = 0;
    const wsClient = createClient({
      url: WS_URL,
      webSocketImpl: WebSocket,
      connectionParams: { Authorization: `Bearer ${TOKEN}` },
      retryAttempts: 0,
      on: { connected: () => { connected += 1; } },
    });
    const link = ApolloLink.split(
      ({ query }) => {
        const definition = getMainDefinition(query);
        return definition.kind === 'OperationDefinition' && definition.operation === 'subscription';
      },
      new GraphQLWsLink(wsClient),
      new HttpLink({ uri: HTTP_URL, headers: AUTH_HEADERS, fetch: rec.fetch }),
    );
    const client = newClient(link);
    let subscription;
    try {
      const createdResult = await client.mutate({
        mutation: CREATE,
        variables: {
          f: DEMO_FILE,
          input: { operationType: 'UPLOAD_NEW_VERSION', operationStatus: 'IN_PROGRESS', statusDetails: 'ws: queued' },
        },
      });
      const op = createdResult.data.createGroupPolicyOperation;
      created.push(op.id);

      const events = new EventQueue();
      subscription = client
        .subscribe({ query: CHANGED, variables: { f: DEMO_FILE, id: op.id } })
        .subscribe({
          next: (result) => events.push({ kind: 'next', result }),
          error: (error) => events.push({ kind: 'error', error }),
          complete: () => events.push({ kind: 'complete' }),
        });

      const initial = await events.next('the current state');
      assert.equal(initial.kind, 'next', JSON.stringify(initial));
      assert.equal(initial.result.error, undefined, String(initial.result.error));
      assert.equal(initial.result.data.groupPolicyOperationChanged.id, op.id);
      assert.equal(initial.result.data.groupPolicyOperationChanged.operationStatus, 'IN_PROGRESS');
      assert.equal(initial.result.data.groupPolicyOperationChanged.statusDetails, 'ws: queued');
      assert.equal(connected, 1, 'one WebSocket connection was acknowledged');
      const httpBefore = rec.calls.length;

      // A change that does not finish the operation: pushed, the subscription stays open.
      await client.mutate({
        mutation: UPDATE,
        variables: { f: DEMO_FILE, id: op.id, input: { statusDetails: 'ws: 50%' } },
      });
      const progress = await events.next('the progress change');
      assert.equal(progress.kind, 'next', JSON.stringify(progress));
      assert.equal(progress.result.data.groupPolicyOperationChanged.operationStatus, 'IN_PROGRESS');
      assert.equal(progress.result.data.groupPolicyOperationChanged.statusDetails, 'ws: 50%');

      await client.mutate({
        mutation: UPDATE,
        variables: { f: DEMO_FILE, id: op.id, input: { operationStatus: 'SUCCESS', statusDetails: 'ws: done' } },
      });
      const done = await events.next('SUCCESS');
      assert.equal(done.kind, 'next', JSON.stringify(done));
      assert.equal(done.result.data.groupPolicyOperationChanged.operationStatus, 'SUCCESS');
      assert.equal(done.result.data.groupPolicyOperationChanged.statusDetails, 'ws: done');

      const end = await events.next('completion after SUCCESS');
      assert.equal(end.kind, 'complete', JSON.stringify(end));
      assert.equal(rec.calls.length, httpBefore + 2, 'the two mutations went over HTTP');
      assert.ok(
        rec.calls.every((c) => c.body.operationName !== 'OpChanged'),
        'the subscription never went over HTTP',
      );

      // The pushed results landed in the normalized cache too.
      const entry = client.cache.extract()[client.cache.identify(op)];
      assert.equal(entry?.operationStatus, 'SUCCESS');
    } finally {
      subscription?.unsubscribe();
      client.stop();
      await wsClient.dispose();
    }
  });

  test('GraphQLWsLink: a missing operation ends the subscription with NOT_FOUND', { timeout: TIMEOUT }, async () => {
    const wsClient = createClient({
      url: WS_URL,
      webSocketImpl: WebSocket,
      connectionParams: { Authorization: `Bearer ${TOKEN}` },
      retryAttempts: 0,
    });
    const client = newClient(new GraphQLWsLink(wsClient));
    let subscription;
    try {
      const events = new EventQueue();
      subscription = client
        .subscribe({ query: CHANGED, variables: { f: DEMO_FILE, id: randomUUID() } })
        .subscribe({
          next: (result) => events.push({ kind: 'next', result }),
          error: (error) => events.push({ kind: 'error', error }),
          complete: () => events.push({ kind: 'complete' }),
        });
      const first = await events.next('the NOT_FOUND error');
      // Apollo Client 4 delivers GraphQL errors of a subscription either on the result
      // (`result.error`) or as a terminal error, depending on the errorPolicy.
      const error = first.kind === 'next' ? first.result.error : first.error;
      assert.deepEqual(codesOf(error), ['NOT_FOUND'], JSON.stringify(first));
    } finally {
      subscription?.unsubscribe();
      client.stop();
      await wsClient.dispose();
    }
  });
});

const FILE_FIELDS = gql`
  fragment FileFields on GroupPolicyUploadedDefinitionFile {
    id
    fileName
    status
    groupPolicyOperations {
      nodes {
        ...OpFields
      }
    }
  }
  ${OP_FIELDS}
`;

const UPLOAD = gql`
  mutation UploadFile($input: UploadGroupPolicyDefinitionFileInput!) {
    uploadGroupPolicyDefinitionFile(input: $input) {
      ...FileFields
    }
  }
  ${FILE_FIELDS}
`;

const FILE_CHANGED = gql`
  subscription FileChanged($id: ID!) {
    groupPolicyUploadedDefinitionFileChanged(id: $id) {
      ...FileFields
    }
  }
  ${FILE_FIELDS}
`;

/** A sample of playground/samples, base64-encoded as the Base64 scalar wants it. */
function sample(path) {
  return readFileSync(new URL(`../../playground/samples/${path}`, import.meta.url)).toString('base64');
}

describe('Apollo Client 4 and definition files', () => {
  test('upload a file, then follow it with GraphQLWsLink to AVAILABLE; the cache holds it and its operations', { timeout: TIMEOUT }, async () => {
    const wsClient = createClient({
      url: WS_URL,
      webSocketImpl: WebSocket,
      connectionParams: { Authorization: `Bearer ${TOKEN}` },
      retryAttempts: 0,
    });
    const link = ApolloLink.split(
      ({ query }) => {
        const definition = getMainDefinition(query);
        return definition.kind === 'OperationDefinition' && definition.operation === 'subscription';
      },
      new GraphQLWsLink(wsClient),
      new HttpLink({ uri: HTTP_URL, headers: AUTH_HEADERS }),
    );
    const client = newClient(link);
    let subscription;
    let fileId;
    try {
      const uploaded = await client.mutate({
        mutation: UPLOAD,
        variables: {
          input: {
            fileName: 'fabrikam-vpn.admx',
            content: sample('fabrikam-vpn.admx'),
            defaultLanguageCode: 'en-US',
            groupPolicyUploadedLanguageFiles: [
              { fileName: 'fabrikam-vpn.adml', languageCode: 'en-US', content: sample('en-US/fabrikam-vpn.adml') },
            ],
          },
        },
      });
      const file = uploaded.data.uploadGroupPolicyDefinitionFile;
      fileId = file.id;
      assert.equal(file.status, 'UPLOAD_IN_PROGRESS');
      assert.equal(file.groupPolicyOperations.nodes[0].operationType, 'UPLOAD');

      const events = new EventQueue();
      subscription = client
        .subscribe({ query: FILE_CHANGED, variables: { id: file.id } })
        .subscribe({
          next: (result) => events.push({ kind: 'next', result }),
          error: (error) => events.push({ kind: 'error', error }),
          complete: () => events.push({ kind: 'complete' }),
        });
      let last;
      for (;;) {
        const event = await events.next('the file to be processed');
        if (event.kind === 'complete') break;
        assert.equal(event.kind, 'next', JSON.stringify(event));
        assert.equal(event.result.error, undefined, String(event.result.error));
        last = event.result.data.groupPolicyUploadedDefinitionFileChanged;
      }
      assert.equal(last.status, 'AVAILABLE', JSON.stringify(last));
      const upload = last.groupPolicyOperations.nodes[0];
      assert.equal(upload.operationStatus, 'SUCCESS');

      // The normalized cache holds the file as pushed, and its operation as an entity.
      const cache = client.cache.extract();
      assert.equal(cache[client.cache.identify(last)]?.status, 'AVAILABLE');
      assert.equal(cache[client.cache.identify(upload)]?.operationStatus, 'SUCCESS');
    } finally {
      subscription?.unsubscribe();
      if (fileId) {
        await client.mutate({
          mutation: gql`mutation DropFile($id: ID!) { deleteGroupPolicyUploadedDefinitionFile(id: $id) }`,
          variables: { id: fileId },
        });
      }
      client.stop();
      await wsClient.dispose();
    }
  });
});

/** Polls `predicate` until it holds; rejects after `ms`. */
async function waitFor(predicate, what, ms = 5_000) {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Events of an observable, awaited one at a time, each with a time limit. */
class EventQueue {
  #items = [];
  #waiters = [];

  push(item) {
    const waiter = this.#waiters.shift();
    if (waiter) {
      waiter(item);
    } else {
      this.#items.push(item);
    }
  }

  next(what, ms = 10_000) {
    if (this.#items.length > 0) {
      return Promise.resolve(this.#items.shift());
    }
    return within(ms, new Promise((resolve) => this.#waiters.push(resolve)), what);
  }
}
