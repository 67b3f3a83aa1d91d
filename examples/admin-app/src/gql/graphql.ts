/* eslint-disable */
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';
export type Maybe<T> = T | null;
export type InputMaybe<T> = Maybe<T>;
export type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
export type MakeOptional<T, K extends keyof T> = Omit<T, K> & { [SubKey in K]?: Maybe<T[SubKey]> };
export type MakeMaybe<T, K extends keyof T> = Omit<T, K> & { [SubKey in K]: Maybe<T[SubKey]> };
export type MakeEmpty<T extends { [key: string]: unknown }, K extends keyof T> = { [_ in K]?: never };
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
/** All built-in and custom scalars, mapped to their actual values */
export type Scalars = {
  ID: { input: string; output: string; }
  String: { input: string; output: string; }
  Boolean: { input: boolean; output: boolean; }
  Int: { input: number; output: number; }
  Float: { input: number; output: number; }
  /**
   * A file's bytes as standard base64 with padding (RFC 4648 section 4, alphabet `A-Z a-z 0-9 +
   * /`, `=` padding; not the URL-safe alphabet), as Graph's Edm.Binary. Input only: the gateway
   * never returns file contents. A JSON string on the wire: map it to `string` in generated
   * client types; in a browser, read a `File` with `FileReader.readAsDataURL` and keep what
   * follows the comma.
   */
  Base64: { input: string; output: string; }
  /**
   * A point in time as RFC 3339 text with an offset, as Graph's Edm.DateTimeOffset: up to 7
   * fractional digits, e.g. `2025-09-07T08:32:57.5081686Z`. The service writes UTC (`Z`); values
   * read from Graph come back exactly as Graph wrote them (precision and offset kept). A JSON
   * string on the wire: map it to `string` in generated client types and parse it with
   * `new Date(...)` (which keeps milliseconds) only for display.
   */
  DateTime: { input: string; output: string; }
};

/** The fields of a new operation. The service assigns `id` and `lastModifiedDateTime`. */
export type CreateGroupPolicyOperationInput = {
  /** The initial status. `UNKNOWN_FUTURE_VALUE` is refused. */
  operationStatus: GroupPolicyOperationStatus;
  /** What kind of change the operation records. `UNKNOWN_FUTURE_VALUE` is refused. */
  operationType: GroupPolicyOperationType;
  /** Optional free text about the operation. */
  statusDetails?: InputMaybe<Scalars['String']['input']>;
};

/** Names an ADML file of a definition file, for removal. */
export type GroupPolicyLanguageFileRefInput = {
  /** The ADML file name, e.g. contoso.adml. */
  fileName: Scalars['String']['input'];
  /** Its language, e.g. de-DE. */
  languageCode: Scalars['String']['input'];
};

export type GroupPolicyOperation = {
  __typename?: 'GroupPolicyOperation';
  /** That file itself (through the request's loader); null when it no longer exists. */
  definitionFile?: Maybe<GroupPolicyUploadedDefinitionFile>;
  /** The groupPolicyUploadedDefinitionFile this operation belongs to. */
  definitionFileId: Scalars['ID']['output'];
  /** The operation's GUID, assigned by the service. */
  id: Scalars['ID']['output'];
  /** When the service last changed this operation. */
  lastModifiedDateTime: Scalars['DateTime']['output'];
  /** Where the operation stands; poll or subscribe until it is `SUCCESS` or `FAILED`. */
  operationStatus: GroupPolicyOperationStatus;
  /** What kind of change this operation records. */
  operationType: GroupPolicyOperationType;
  /**
   * Free text from Intune about the outcome, often the reason for a failure. May be empty
   * or absent, and may contain any Unicode.
   */
  statusDetails?: Maybe<Scalars['String']['output']>;
};

export type GroupPolicyOperationConnection = {
  __typename?: 'GroupPolicyOperationConnection';
  /** The operations of this page with their cursors, in a stable order. */
  edges: Array<GroupPolicyOperationEdge>;
  /** The operations of this page, without cursors (same order as `edges`). */
  nodes: Array<GroupPolicyOperation>;
  /** Whether more pages follow, and the cursors to fetch them. */
  pageInfo: PageInfo;
};

/** An operation and the cursor that resumes the list after it. */
export type GroupPolicyOperationEdge = {
  __typename?: 'GroupPolicyOperationEdge';
  /** Opaque; pass it as `after` to continue after this operation. */
  cursor: Scalars['String']['output'];
  /** The operation. */
  node: GroupPolicyOperation;
};

/**
 * Where an operation stands. `IN_PROGRESS` moves to `SUCCESS` or `FAILED` when Intune finishes
 * processing the file.
 */
export type GroupPolicyOperationStatus =
  /** The operation failed; `statusDetails` usually says why. */
  | 'FAILED'
  /** Intune is still processing the file. */
  | 'IN_PROGRESS'
  /** The operation finished successfully. */
  | 'SUCCESS'
  /** Intune has not reported a status. */
  | 'UNKNOWN'
  /**
   * Output only: Graph returned a member this gateway does not know yet. Sending it as
   * input is rejected with `BAD_USER_INPUT`.
   */
  | 'UNKNOWN_FUTURE_VALUE';

/** What kind of change to an uploaded ADMX definition file an operation records. */
export type GroupPolicyOperationType =
  /** Language (ADML) files were added to the definition file. */
  | 'ADD_LANGUAGE_FILES'
  /** No operation (Graph's `none`). */
  | 'NONE'
  /** The definition file was removed from Intune. */
  | 'REMOVE'
  /** Language (ADML) files were removed from the definition file. */
  | 'REMOVE_LANGUAGE_FILES'
  /**
   * Output only: Graph returned a member this gateway does not know yet. Sending it as
   * input is rejected with `BAD_USER_INPUT`.
   */
  | 'UNKNOWN_FUTURE_VALUE'
  /** Existing language (ADML) files were replaced. */
  | 'UPDATE_LANGUAGE_FILES'
  /** The ADMX file and its language files were uploaded for the first time. */
  | 'UPLOAD'
  /** A newer version of an already uploaded ADMX file was uploaded. */
  | 'UPLOAD_NEW_VERSION';

/** How Intune knows a file's policies. */
export type GroupPolicyType =
  /** Built into Windows' ADMX-backed policy CSPs. */
  | 'ADMX_BACKED'
  /** Ingested from an uploaded ADMX file. */
  | 'ADMX_INGESTED'
  /** Output only: Graph returned a member this gateway does not know yet. */
  | 'UNKNOWN_FUTURE_VALUE';

export type GroupPolicyUploadedDefinitionFile = {
  __typename?: 'GroupPolicyUploadedDefinitionFile';
  /** The language whose ADML file names and describes the file. */
  defaultLanguageCode?: Maybe<Scalars['String']['output']>;
  /** Description from the default language's ADML file. */
  description?: Maybe<Scalars['String']['output']>;
  /** Name from the default language's ADML file. */
  displayName?: Maybe<Scalars['String']['output']>;
  /** The ADMX file name, e.g. contoso.admx. */
  fileName?: Maybe<Scalars['String']['output']>;
  /**
   * The operations Intune recorded on this file, a page at a time.
   * Same paging rules as Query.groupPolicyOperations.
   */
  groupPolicyOperations: GroupPolicyOperationConnection;
  /** The file's ADML files (names and languages; contents are never returned). */
  groupPolicyUploadedLanguageFiles: Array<GroupPolicyUploadedLanguageFile>;
  /** The file's GUID, assigned by the service. */
  id: Scalars['ID']['output'];
  /** Languages of the file's ADML files. */
  languageCodes: Array<Scalars['String']['output']>;
  /** When the service last changed the file. */
  lastModifiedDateTime: Scalars['DateTime']['output'];
  /** How Intune knows the file's policies. */
  policyType: GroupPolicyType;
  /** The ADMX file's revision, e.g. 1.2. */
  revision?: Maybe<Scalars['String']['output']>;
  /** Where the file is in Intune's pipeline. */
  status: GroupPolicyUploadedDefinitionFileStatus;
  /** The ADMX file's target namespace, e.g. Contoso.Policies.Browser. */
  targetNamespace?: Maybe<Scalars['String']['output']>;
  /** The prefix of the ADMX file's target namespace. */
  targetPrefix?: Maybe<Scalars['String']['output']>;
  /** When the file was uploaded. */
  uploadDateTime?: Maybe<Scalars['DateTime']['output']>;
};


export type GroupPolicyUploadedDefinitionFileGroupPolicyOperationsArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
};

export type GroupPolicyUploadedDefinitionFileConnection = {
  __typename?: 'GroupPolicyUploadedDefinitionFileConnection';
  /** The files of this page with their cursors, in a stable order. */
  edges: Array<GroupPolicyUploadedDefinitionFileEdge>;
  /** The files of this page, without cursors (same order as `edges`). */
  nodes: Array<GroupPolicyUploadedDefinitionFile>;
  /** Whether more pages follow, and the cursors to fetch them. */
  pageInfo: PageInfo;
};

/** A definition file and the cursor that resumes the list after it. */
export type GroupPolicyUploadedDefinitionFileEdge = {
  __typename?: 'GroupPolicyUploadedDefinitionFileEdge';
  /** Opaque; pass it as `after` to continue after this file. */
  cursor: Scalars['String']['output'];
  /** The file. */
  node: GroupPolicyUploadedDefinitionFile;
};

/** Where an uploaded ADMX file is in Intune's pipeline. */
export type GroupPolicyUploadedDefinitionFileStatus =
  /** The file's policies are used by a configuration. */
  | 'ASSIGNED'
  /** The file was read and its policies can be configured. */
  | 'AVAILABLE'
  /** No status reported. */
  | 'NONE'
  /** Intune could not remove the file. */
  | 'REMOVAL_FAILED'
  /** Intune is removing the file; it disappears when done. */
  | 'REMOVAL_IN_PROGRESS'
  /** Output only: Graph returned a member this gateway does not know yet. */
  | 'UNKNOWN_FUTURE_VALUE'
  /** Intune could not read the file; its operation's `statusDetails` says why. */
  | 'UPLOAD_FAILED'
  /** Intune is reading the uploaded files; follow the file until this changes. */
  | 'UPLOAD_IN_PROGRESS';

/** An ADML language file of an uploaded definition file. Its content is write-only, as in Graph. */
export type GroupPolicyUploadedLanguageFile = {
  __typename?: 'GroupPolicyUploadedLanguageFile';
  /** The ADML file name, e.g. contoso.adml. */
  fileName?: Maybe<Scalars['String']['output']>;
  /** Its language, e.g. en-US. */
  languageCode?: Maybe<Scalars['String']['output']>;
  /** When it was last changed. */
  lastModifiedDateTime?: Maybe<Scalars['DateTime']['output']>;
};

/** An ADML file to send: its name, its language (e.g. en-US) and its bytes. */
export type GroupPolicyUploadedLanguageFileInput = {
  /** The ADML bytes, standard base64. */
  content: Scalars['Base64']['input'];
  /** The ADML file name, e.g. contoso.adml. */
  fileName: Scalars['String']['input'];
  /** Its language, e.g. en-US. One ADML per language. */
  languageCode: Scalars['String']['input'];
};

/** The schema's Mutation: operations and definition files. */
export type Mutation = {
  __typename?: 'Mutation';
  /**
   * Adds ADML files for languages the file does not have yet (one per language).
   * Each action below starts one operation on the file and returns the file as it is right after.
   */
  addGroupPolicyLanguageFiles: GroupPolicyUploadedDefinitionFile;
  /** Records a new operation for a definition file and returns it with its new id. */
  createGroupPolicyOperation: GroupPolicyOperation;
  /** Deletes an operation. Returns the id of the deleted operation; NOT_FOUND when there was none. */
  deleteGroupPolicyOperation: Scalars['ID']['output'];
  /**
   * Deletes the file record at once (used to clean up failed uploads). Returns its id;
   * NOT_FOUND when there was none.
   */
  deleteGroupPolicyUploadedDefinitionFile: Scalars['ID']['output'];
  /** Removes ADML files (never the default language's). */
  removeGroupPolicyLanguageFiles: GroupPolicyUploadedDefinitionFile;
  /** Intune's remove action: the file goes REMOVAL_IN_PROGRESS, then disappears. */
  removeGroupPolicyUploadedDefinitionFile: GroupPolicyUploadedDefinitionFile;
  /** Replaces ADML files of languages the file already has. */
  updateGroupPolicyLanguageFiles: GroupPolicyUploadedDefinitionFile;
  /**
   * Changes some fields of an operation and returns it as it now stands. `NOT_FOUND` when
   * the operation does not exist; `BAD_USER_INPUT` when `input` sets nothing.
   */
  updateGroupPolicyOperation: GroupPolicyOperation;
  /** Uploads an ADMX file with its ADML files. Intune processes it asynchronously: the file comes back UPLOAD_IN_PROGRESS with an UPLOAD operation IN_PROGRESS; follow groupPolicyUploadedDefinitionFileChanged to AVAILABLE or UPLOAD_FAILED. */
  uploadGroupPolicyDefinitionFile: GroupPolicyUploadedDefinitionFile;
  /** Uploads a new version of the ADMX file, with new ADML files for any languages given. */
  uploadNewGroupPolicyDefinitionFileVersion: GroupPolicyUploadedDefinitionFile;
};


/** The schema's Mutation: operations and definition files. */
export type MutationAddGroupPolicyLanguageFilesArgs = {
  definitionFileId: Scalars['ID']['input'];
  languageFiles: Array<GroupPolicyUploadedLanguageFileInput>;
};


/** The schema's Mutation: operations and definition files. */
export type MutationCreateGroupPolicyOperationArgs = {
  definitionFileId: Scalars['ID']['input'];
  input: CreateGroupPolicyOperationInput;
};


/** The schema's Mutation: operations and definition files. */
export type MutationDeleteGroupPolicyOperationArgs = {
  definitionFileId: Scalars['ID']['input'];
  id: Scalars['ID']['input'];
};


/** The schema's Mutation: operations and definition files. */
export type MutationDeleteGroupPolicyUploadedDefinitionFileArgs = {
  id: Scalars['ID']['input'];
};


/** The schema's Mutation: operations and definition files. */
export type MutationRemoveGroupPolicyLanguageFilesArgs = {
  definitionFileId: Scalars['ID']['input'];
  languageFiles: Array<GroupPolicyLanguageFileRefInput>;
};


/** The schema's Mutation: operations and definition files. */
export type MutationRemoveGroupPolicyUploadedDefinitionFileArgs = {
  id: Scalars['ID']['input'];
};


/** The schema's Mutation: operations and definition files. */
export type MutationUpdateGroupPolicyLanguageFilesArgs = {
  definitionFileId: Scalars['ID']['input'];
  languageFiles: Array<GroupPolicyUploadedLanguageFileInput>;
};


/** The schema's Mutation: operations and definition files. */
export type MutationUpdateGroupPolicyOperationArgs = {
  definitionFileId: Scalars['ID']['input'];
  id: Scalars['ID']['input'];
  input: UpdateGroupPolicyOperationInput;
};


/** The schema's Mutation: operations and definition files. */
export type MutationUploadGroupPolicyDefinitionFileArgs = {
  input: UploadGroupPolicyDefinitionFileInput;
};


/** The schema's Mutation: operations and definition files. */
export type MutationUploadNewGroupPolicyDefinitionFileVersionArgs = {
  content: Scalars['Base64']['input'];
  definitionFileId: Scalars['ID']['input'];
  languageFiles: Array<GroupPolicyUploadedLanguageFileInput>;
};

/** Where a page of operations sits in the whole list. */
export type PageInfo = {
  __typename?: 'PageInfo';
  /** Cursor of the last edge of this page; pass it as `after` for the next page. */
  endCursor?: Maybe<Scalars['String']['output']>;
  /** True when another page follows; fetch it with `after: endCursor`. */
  hasNextPage: Scalars['Boolean']['output'];
  /** True when this page was fetched with `after`, so operations precede it. */
  hasPreviousPage: Scalars['Boolean']['output'];
  /** Cursor of the first edge of this page, or null when the page is empty. */
  startCursor?: Maybe<Scalars['String']['output']>;
};

/** The schema's Query: operations and definition files. */
export type Query = {
  __typename?: 'Query';
  /** One operation of a definition file; null when the operation does not exist. */
  groupPolicyOperation?: Maybe<GroupPolicyOperation>;
  /**
   * The operations of a definition file, a page at a time, in a stable order.
   * Forward pagination: first is 1..100 (default 25); after is an endCursor from an earlier page. NOT_FOUND when the definition file does not exist.
   */
  groupPolicyOperations: GroupPolicyOperationConnection;
  /** One uploaded ADMX definition file; null when the file does not exist. */
  groupPolicyUploadedDefinitionFile?: Maybe<GroupPolicyUploadedDefinitionFile>;
  /**
   * The tenant's uploaded definition files, a page at a time, in a stable order.
   * Forward pagination as for operations.
   */
  groupPolicyUploadedDefinitionFiles: GroupPolicyUploadedDefinitionFileConnection;
};


/** The schema's Query: operations and definition files. */
export type QueryGroupPolicyOperationArgs = {
  definitionFileId: Scalars['ID']['input'];
  id: Scalars['ID']['input'];
};


/** The schema's Query: operations and definition files. */
export type QueryGroupPolicyOperationsArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  definitionFileId: Scalars['ID']['input'];
  first?: InputMaybe<Scalars['Int']['input']>;
};


/** The schema's Query: operations and definition files. */
export type QueryGroupPolicyUploadedDefinitionFileArgs = {
  id: Scalars['ID']['input'];
};


/** The schema's Query: operations and definition files. */
export type QueryGroupPolicyUploadedDefinitionFilesArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
};

/** The schema's Subscription: an operation or a definition file. */
export type Subscription = {
  __typename?: 'Subscription';
  /**
   * Emits the current state at once, then every change; completes after SUCCESS or FAILED,
   * or when the operation is deleted. A missing operation ends with `NOT_FOUND`.
   */
  groupPolicyOperationChanged: GroupPolicyOperation;
  /** Emits the file at once, then whenever its status or any of its operations changes; completes when the status is final (AVAILABLE, ASSIGNED, UPLOAD_FAILED, REMOVAL_FAILED) and none of its operations is IN_PROGRESS, or when the file is gone. A missing file ends with `NOT_FOUND`. */
  groupPolicyUploadedDefinitionFileChanged: GroupPolicyUploadedDefinitionFile;
};


/** The schema's Subscription: an operation or a definition file. */
export type SubscriptionGroupPolicyOperationChangedArgs = {
  definitionFileId: Scalars['ID']['input'];
  id: Scalars['ID']['input'];
};


/** The schema's Subscription: an operation or a definition file. */
export type SubscriptionGroupPolicyUploadedDefinitionFileChangedArgs = {
  id: Scalars['ID']['input'];
};

/** Absent field: unchanged. statusDetails: null clears it. At least one field is required. */
export type UpdateGroupPolicyOperationInput = {
  /** New status; omit to keep it. `UNKNOWN_FUTURE_VALUE` is refused. */
  operationStatus?: InputMaybe<GroupPolicyOperationStatus>;
  /** New kind of change; omit to keep it. `UNKNOWN_FUTURE_VALUE` is refused. */
  operationType?: InputMaybe<GroupPolicyOperationType>;
  /** New details; omit to keep them, or send null to clear them. */
  statusDetails?: InputMaybe<Scalars['String']['input']>;
};

/** An ADMX file to upload with its ADML files. */
export type UploadGroupPolicyDefinitionFileInput = {
  /** The ADMX bytes, standard base64. */
  content: Scalars['Base64']['input'];
  /** The language whose ADML names the file, e.g. en-US; an ADML for it is required. */
  defaultLanguageCode: Scalars['String']['input'];
  /** The ADMX file name, e.g. contoso.admx. */
  fileName: Scalars['String']['input'];
  /** The ADML files, one per language. */
  groupPolicyUploadedLanguageFiles: Array<GroupPolicyUploadedLanguageFileInput>;
};

export type FilesPageQueryVariables = Exact<{
  first: Scalars['Int']['input'];
  after?: InputMaybe<Scalars['String']['input']>;
}>;


export type FilesPageQuery = { __typename?: 'Query', groupPolicyUploadedDefinitionFiles: { __typename?: 'GroupPolicyUploadedDefinitionFileConnection', edges: Array<{ __typename?: 'GroupPolicyUploadedDefinitionFileEdge', cursor: string, node: { __typename?: 'GroupPolicyUploadedDefinitionFile', id: string, fileName?: string | null, displayName?: string | null, status: GroupPolicyUploadedDefinitionFileStatus, languageCodes: Array<string>, lastModifiedDateTime: string } }>, pageInfo: { __typename?: 'PageInfo', hasNextPage: boolean, endCursor?: string | null } } };

export type FileOperationsQueryVariables = Exact<{
  id: Scalars['ID']['input'];
  first: Scalars['Int']['input'];
  after?: InputMaybe<Scalars['String']['input']>;
}>;


export type FileOperationsQuery = { __typename?: 'Query', groupPolicyOperations: { __typename?: 'GroupPolicyOperationConnection', edges: Array<{ __typename?: 'GroupPolicyOperationEdge', cursor: string, node: { __typename?: 'GroupPolicyOperation', id: string, operationType: GroupPolicyOperationType, operationStatus: GroupPolicyOperationStatus, statusDetails?: string | null, lastModifiedDateTime: string } }>, pageInfo: { __typename?: 'PageInfo', hasNextPage: boolean, endCursor?: string | null } } };

export type RecordOperationMutationVariables = Exact<{
  id: Scalars['ID']['input'];
  input: CreateGroupPolicyOperationInput;
}>;


export type RecordOperationMutation = { __typename?: 'Mutation', createGroupPolicyOperation: { __typename?: 'GroupPolicyOperation', id: string, operationType: GroupPolicyOperationType, operationStatus: GroupPolicyOperationStatus, statusDetails?: string | null, lastModifiedDateTime: string } };

export type UploadFileMutationVariables = Exact<{
  input: UploadGroupPolicyDefinitionFileInput;
}>;


export type UploadFileMutation = { __typename?: 'Mutation', uploadGroupPolicyDefinitionFile: { __typename?: 'GroupPolicyUploadedDefinitionFile', id: string, fileName?: string | null, displayName?: string | null, status: GroupPolicyUploadedDefinitionFileStatus, languageCodes: Array<string>, lastModifiedDateTime: string } };

export type FileChangedSubscriptionVariables = Exact<{
  id: Scalars['ID']['input'];
}>;


export type FileChangedSubscription = { __typename?: 'Subscription', groupPolicyUploadedDefinitionFileChanged: { __typename?: 'GroupPolicyUploadedDefinitionFile', id: string, fileName?: string | null, displayName?: string | null, status: GroupPolicyUploadedDefinitionFileStatus, languageCodes: Array<string>, lastModifiedDateTime: string, groupPolicyOperations: { __typename?: 'GroupPolicyOperationConnection', edges: Array<{ __typename?: 'GroupPolicyOperationEdge', node: { __typename?: 'GroupPolicyOperation', id: string, operationType: GroupPolicyOperationType, operationStatus: GroupPolicyOperationStatus, statusDetails?: string | null } }> } } };


export const FilesPageDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"FilesPage"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"first"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"after"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"groupPolicyUploadedDefinitionFiles"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"Variable","name":{"kind":"Name","value":"first"}}},{"kind":"Argument","name":{"kind":"Name","value":"after"},"value":{"kind":"Variable","name":{"kind":"Name","value":"after"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"edges"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"cursor"}},{"kind":"Field","name":{"kind":"Name","value":"node"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"fileName"}},{"kind":"Field","name":{"kind":"Name","value":"displayName"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"languageCodes"}},{"kind":"Field","name":{"kind":"Name","value":"lastModifiedDateTime"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"pageInfo"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"hasNextPage"}},{"kind":"Field","name":{"kind":"Name","value":"endCursor"}}]}}]}}]}}]} as unknown as DocumentNode<FilesPageQuery, FilesPageQueryVariables>;
export const FileOperationsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"FileOperations"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"first"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"after"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"groupPolicyOperations"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"definitionFileId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}},{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"Variable","name":{"kind":"Name","value":"first"}}},{"kind":"Argument","name":{"kind":"Name","value":"after"},"value":{"kind":"Variable","name":{"kind":"Name","value":"after"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"edges"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"cursor"}},{"kind":"Field","name":{"kind":"Name","value":"node"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"operationType"}},{"kind":"Field","name":{"kind":"Name","value":"operationStatus"}},{"kind":"Field","name":{"kind":"Name","value":"statusDetails"}},{"kind":"Field","name":{"kind":"Name","value":"lastModifiedDateTime"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"pageInfo"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"hasNextPage"}},{"kind":"Field","name":{"kind":"Name","value":"endCursor"}}]}}]}}]}}]} as unknown as DocumentNode<FileOperationsQuery, FileOperationsQueryVariables>;
export const RecordOperationDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"RecordOperation"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"CreateGroupPolicyOperationInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"createGroupPolicyOperation"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"definitionFileId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}},{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"operationType"}},{"kind":"Field","name":{"kind":"Name","value":"operationStatus"}},{"kind":"Field","name":{"kind":"Name","value":"statusDetails"}},{"kind":"Field","name":{"kind":"Name","value":"lastModifiedDateTime"}}]}}]}}]} as unknown as DocumentNode<RecordOperationMutation, RecordOperationMutationVariables>;
export const UploadFileDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"UploadFile"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"UploadGroupPolicyDefinitionFileInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"uploadGroupPolicyDefinitionFile"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"fileName"}},{"kind":"Field","name":{"kind":"Name","value":"displayName"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"languageCodes"}},{"kind":"Field","name":{"kind":"Name","value":"lastModifiedDateTime"}}]}}]}}]} as unknown as DocumentNode<UploadFileMutation, UploadFileMutationVariables>;
export const FileChangedDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"subscription","name":{"kind":"Name","value":"FileChanged"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"groupPolicyUploadedDefinitionFileChanged"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"fileName"}},{"kind":"Field","name":{"kind":"Name","value":"displayName"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"languageCodes"}},{"kind":"Field","name":{"kind":"Name","value":"lastModifiedDateTime"}},{"kind":"Field","name":{"kind":"Name","value":"groupPolicyOperations"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"IntValue","value":"5"}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"edges"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"node"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"operationType"}},{"kind":"Field","name":{"kind":"Name","value":"operationStatus"}},{"kind":"Field","name":{"kind":"Name","value":"statusDetails"}}]}}]}}]}}]}}]}}]} as unknown as DocumentNode<FileChangedSubscription, FileChangedSubscriptionVariables>;