// One Apollo Client: queries and mutations over HTTP, subscriptions over a WebSocket speaking
// graphql-transport-ws (the graphql-ws package), and a cache that merges the pages of the
// three Relay connections.
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache } from '@apollo/client';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { isSubscriptionOperation, relayStylePagination } from '@apollo/client/utilities';
import { createClient } from 'graphql-ws';

const base = import.meta.env.VITE_GATEWAY_URL?.replace(/\/+$/, '');
const token = import.meta.env.VITE_GATEWAY_TOKEN;

/** The HTTP endpoint: the gateway's, or this origin's /graphql (the dev/preview proxy). */
export const httpUrl = base ? `${base}/graphql` : '/graphql';
const wsUrl = base
  ? `${base.replace(/^http/, 'ws')}/graphql`
  : `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`;

const authorization = token ? { authorization: `Bearer ${token}` } : undefined;

const http = new HttpLink({ uri: httpUrl, headers: authorization });
const ws = new GraphQLWsLink(
  createClient({
    url: wsUrl,
    // Graph mode reads the token from connection_init (browsers cannot set WebSocket headers).
    connectionParams: () => (token ? { Authorization: `Bearer ${token}` } : {}),
  }),
);

export const cache = new InMemoryCache({
  typePolicies: {
    Query: {
      fields: {
        // Paged by first/after only: one list.
        groupPolicyUploadedDefinitionFiles: relayStylePagination(),
        // One list per definition file.
        groupPolicyOperations: relayStylePagination(['definitionFileId']),
      },
    },
    GroupPolicyUploadedDefinitionFile: {
      fields: {
        // Already one list per file object.
        groupPolicyOperations: relayStylePagination(),
      },
    },
  },
});

export const client = new ApolloClient({
  link: ApolloLink.split(({ query }) => isSubscriptionOperation(query), ws, http),
  cache,
});
