/* eslint-disable */
import * as types from './graphql';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "\n  query FilesPage($first: Int!, $after: String) {\n    groupPolicyUploadedDefinitionFiles(first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          id\n          fileName\n          displayName\n          status\n          languageCodes\n          lastModifiedDateTime\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n": typeof types.FilesPageDocument,
    "\n  query FileOperations($id: ID!, $first: Int!, $after: String) {\n    groupPolicyOperations(definitionFileId: $id, first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          id\n          operationType\n          operationStatus\n          statusDetails\n          lastModifiedDateTime\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n": typeof types.FileOperationsDocument,
    "\n  mutation RecordOperation($id: ID!, $input: CreateGroupPolicyOperationInput!) {\n    createGroupPolicyOperation(definitionFileId: $id, input: $input) {\n      id\n      operationType\n      operationStatus\n      statusDetails\n      lastModifiedDateTime\n    }\n  }\n": typeof types.RecordOperationDocument,
    "\n  mutation UploadFile($input: UploadGroupPolicyDefinitionFileInput!) {\n    uploadGroupPolicyDefinitionFile(input: $input) {\n      id\n      fileName\n      displayName\n      status\n      languageCodes\n      lastModifiedDateTime\n    }\n  }\n": typeof types.UploadFileDocument,
    "\n  subscription FileChanged($id: ID!) {\n    groupPolicyUploadedDefinitionFileChanged(id: $id) {\n      id\n      fileName\n      displayName\n      status\n      languageCodes\n      lastModifiedDateTime\n      groupPolicyOperations(first: 5) {\n        edges {\n          node {\n            id\n            operationType\n            operationStatus\n            statusDetails\n          }\n        }\n      }\n    }\n  }\n": typeof types.FileChangedDocument,
};
const documents: Documents = {
    "\n  query FilesPage($first: Int!, $after: String) {\n    groupPolicyUploadedDefinitionFiles(first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          id\n          fileName\n          displayName\n          status\n          languageCodes\n          lastModifiedDateTime\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n": types.FilesPageDocument,
    "\n  query FileOperations($id: ID!, $first: Int!, $after: String) {\n    groupPolicyOperations(definitionFileId: $id, first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          id\n          operationType\n          operationStatus\n          statusDetails\n          lastModifiedDateTime\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n": types.FileOperationsDocument,
    "\n  mutation RecordOperation($id: ID!, $input: CreateGroupPolicyOperationInput!) {\n    createGroupPolicyOperation(definitionFileId: $id, input: $input) {\n      id\n      operationType\n      operationStatus\n      statusDetails\n      lastModifiedDateTime\n    }\n  }\n": types.RecordOperationDocument,
    "\n  mutation UploadFile($input: UploadGroupPolicyDefinitionFileInput!) {\n    uploadGroupPolicyDefinitionFile(input: $input) {\n      id\n      fileName\n      displayName\n      status\n      languageCodes\n      lastModifiedDateTime\n    }\n  }\n": types.UploadFileDocument,
    "\n  subscription FileChanged($id: ID!) {\n    groupPolicyUploadedDefinitionFileChanged(id: $id) {\n      id\n      fileName\n      displayName\n      status\n      languageCodes\n      lastModifiedDateTime\n      groupPolicyOperations(first: 5) {\n        edges {\n          node {\n            id\n            operationType\n            operationStatus\n            statusDetails\n          }\n        }\n      }\n    }\n  }\n": types.FileChangedDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query FilesPage($first: Int!, $after: String) {\n    groupPolicyUploadedDefinitionFiles(first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          id\n          fileName\n          displayName\n          status\n          languageCodes\n          lastModifiedDateTime\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n"): (typeof documents)["\n  query FilesPage($first: Int!, $after: String) {\n    groupPolicyUploadedDefinitionFiles(first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          id\n          fileName\n          displayName\n          status\n          languageCodes\n          lastModifiedDateTime\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query FileOperations($id: ID!, $first: Int!, $after: String) {\n    groupPolicyOperations(definitionFileId: $id, first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          id\n          operationType\n          operationStatus\n          statusDetails\n          lastModifiedDateTime\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n"): (typeof documents)["\n  query FileOperations($id: ID!, $first: Int!, $after: String) {\n    groupPolicyOperations(definitionFileId: $id, first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          id\n          operationType\n          operationStatus\n          statusDetails\n          lastModifiedDateTime\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RecordOperation($id: ID!, $input: CreateGroupPolicyOperationInput!) {\n    createGroupPolicyOperation(definitionFileId: $id, input: $input) {\n      id\n      operationType\n      operationStatus\n      statusDetails\n      lastModifiedDateTime\n    }\n  }\n"): (typeof documents)["\n  mutation RecordOperation($id: ID!, $input: CreateGroupPolicyOperationInput!) {\n    createGroupPolicyOperation(definitionFileId: $id, input: $input) {\n      id\n      operationType\n      operationStatus\n      statusDetails\n      lastModifiedDateTime\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation UploadFile($input: UploadGroupPolicyDefinitionFileInput!) {\n    uploadGroupPolicyDefinitionFile(input: $input) {\n      id\n      fileName\n      displayName\n      status\n      languageCodes\n      lastModifiedDateTime\n    }\n  }\n"): (typeof documents)["\n  mutation UploadFile($input: UploadGroupPolicyDefinitionFileInput!) {\n    uploadGroupPolicyDefinitionFile(input: $input) {\n      id\n      fileName\n      displayName\n      status\n      languageCodes\n      lastModifiedDateTime\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription FileChanged($id: ID!) {\n    groupPolicyUploadedDefinitionFileChanged(id: $id) {\n      id\n      fileName\n      displayName\n      status\n      languageCodes\n      lastModifiedDateTime\n      groupPolicyOperations(first: 5) {\n        edges {\n          node {\n            id\n            operationType\n            operationStatus\n            statusDetails\n          }\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  subscription FileChanged($id: ID!) {\n    groupPolicyUploadedDefinitionFileChanged(id: $id) {\n      id\n      fileName\n      displayName\n      status\n      languageCodes\n      lastModifiedDateTime\n      groupPolicyOperations(first: 5) {\n        edges {\n          node {\n            id\n            operationType\n            operationStatus\n            statusDetails\n          }\n        }\n      }\n    }\n  }\n"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;