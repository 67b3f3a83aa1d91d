// Every operation the app sends, typed by GraphQL Code Generator (npm run codegen).
import { graphql } from './gql';

export const FILES_PAGE = graphql(`
  query FilesPage($first: Int!, $after: String) {
    groupPolicyUploadedDefinitionFiles(first: $first, after: $after) {
      edges {
        cursor
        node {
          id
          fileName
          displayName
          status
          languageCodes
          lastModifiedDateTime
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

export const FILE_OPERATIONS = graphql(`
  query FileOperations($id: ID!, $first: Int!, $after: String) {
    groupPolicyOperations(definitionFileId: $id, first: $first, after: $after) {
      edges {
        cursor
        node {
          id
          operationType
          operationStatus
          statusDetails
          lastModifiedDateTime
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

export const RECORD_OPERATION = graphql(`
  mutation RecordOperation($id: ID!, $input: CreateGroupPolicyOperationInput!) {
    createGroupPolicyOperation(definitionFileId: $id, input: $input) {
      id
      operationType
      operationStatus
      statusDetails
      lastModifiedDateTime
    }
  }
`);

export const UPLOAD_FILE = graphql(`
  mutation UploadFile($input: UploadGroupPolicyDefinitionFileInput!) {
    uploadGroupPolicyDefinitionFile(input: $input) {
      id
      fileName
      displayName
      status
      languageCodes
      lastModifiedDateTime
    }
  }
`);

export const FILE_CHANGED = graphql(`
  subscription FileChanged($id: ID!) {
    groupPolicyUploadedDefinitionFileChanged(id: $id) {
      id
      fileName
      displayName
      status
      languageCodes
      lastModifiedDateTime
      groupPolicyOperations(first: 5) {
        edges {
          node {
            id
            operationType
            operationStatus
            statusDetails
          }
        }
      }
    }
  }
`);
