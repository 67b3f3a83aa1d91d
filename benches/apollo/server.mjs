// Apollo Server 5 answering the gateway's by-id query from an in-memory Map: the comparison
// point of the load benchmark (benches/load). It prints its URL on stdout, then serves.
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';

const typeDefs = `#graphql
  enum GroupPolicyOperationType { NONE UPLOAD UPLOAD_NEW_VERSION ADD_LANGUAGE_FILES REMOVE_LANGUAGE_FILES UPDATE_LANGUAGE_FILES REMOVE }
  enum GroupPolicyOperationStatus { UNKNOWN IN_PROGRESS SUCCESS FAILED }
  scalar DateTime
  type GroupPolicyOperation {
    id: ID!
    operationType: GroupPolicyOperationType!
    operationStatus: GroupPolicyOperationStatus!
    statusDetails: String
    lastModifiedDateTime: DateTime!
  }
  type Query {
    groupPolicyOperation(definitionFileId: ID!, id: ID!): GroupPolicyOperation
  }
`;

const operations = new Map([
  ['a1f5c3d2-7b64-4e0f-9c21-3d8e5f6a7b01/0c9e4b7a-1d2f-4a6b-8e3c-5f7a9b1c2d01', {
    id: '0c9e4b7a-1d2f-4a6b-8e3c-5f7a9b1c2d01',
    operationType: 'UPLOAD',
    operationStatus: 'SUCCESS',
    statusDetails: 'chrome.admx and en-US/chrome.adml imported: 412 policies',
    lastModifiedDateTime: '2025-09-07T08:32:57.5081686Z',
  }],
]);

const resolvers = {
  Query: {
    groupPolicyOperation: (_, { definitionFileId, id }) =>
      operations.get(`${definitionFileId}/${id}`) ?? null,
  },
};

const server = new ApolloServer({ typeDefs, resolvers });
const { url } = await startStandaloneServer(server, { listen: { host: '127.0.0.1', port: 0 } });
console.log(`Apollo Server at ${url}`);
