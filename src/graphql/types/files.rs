//! The GraphQL types of uploaded definition files: the file object, its language files, its
//! connection, the inputs of the upload and the actions, and the write-only `Base64` scalar.

use async_graphql::{
    Context, Enum, ID, InputObject, InputValueError, InputValueResult, Object, Result, ResultExt,
    Scalar, ScalarType, SimpleObject, Value,
};

use super::operations::{DateTime, GroupPolicyOperationConnection, PageInfo};
use crate::domain::files::{DefinitionFile, FileContent};
use crate::domain::{Cursor, Guid, Page};
use crate::error::Code;
use crate::graphql::loader::FileLookups;
use crate::graphql::resolvers::operations_page;

/// Standard base64 (RFC 4648, with padding) of a file's bytes, as Graph's Edm.Binary.
/// Input only: the gateway never returns file contents.
pub(crate) struct Base64(pub FileContent);

/// A file's bytes as standard base64 with padding (RFC 4648 section 4, alphabet `A-Z a-z 0-9 +
/// /`, `=` padding; not the URL-safe alphabet), as Graph's Edm.Binary. Input only: the gateway
/// never returns file contents. A JSON string on the wire: map it to `string` in generated
/// client types; in a browser, read a `File` with `FileReader.readAsDataURL` and keep what
/// follows the comma.
#[Scalar(
    name = "Base64",
    specified_by_url = "https://datatracker.ietf.org/doc/html/rfc4648#section-4"
)]
impl ScalarType for Base64 {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(text) => FileContent::from_base64(text).map(Base64).map_err(|e| {
                InputValueError::custom(e).with_extension("code", Code::BadUserInput.as_str())
            }),
            _ => Err(InputValueError::expected_type(value)
                .with_extension("code", Code::BadUserInput.as_str())),
        }
    }

    fn to_value(&self) -> Value {
        // Contents are write-only; nothing in the schema outputs this scalar.
        Value::String(format!("<{} bytes>", self.0.len()))
    }
}

/// Where an uploaded ADMX file is in Intune's pipeline.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "crate::domain::files::FileStatus")]
pub enum GroupPolicyUploadedDefinitionFileStatus {
    /// No status reported.
    None,
    /// Intune is reading the uploaded files; follow the file until this changes.
    UploadInProgress,
    /// The file was read and its policies can be configured.
    Available,
    /// The file's policies are used by a configuration.
    Assigned,
    /// Intune is removing the file; it disappears when done.
    RemovalInProgress,
    /// Intune could not read the file; its operation's `statusDetails` says why.
    UploadFailed,
    /// Intune could not remove the file.
    RemovalFailed,
    /// Output only: Graph returned a member this gateway does not know yet.
    UnknownFutureValue,
}

/// How Intune knows a file's policies.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "crate::domain::files::PolicyType")]
pub enum GroupPolicyType {
    /// Built into Windows' ADMX-backed policy CSPs.
    AdmxBacked,
    /// Ingested from an uploaded ADMX file.
    AdmxIngested,
    /// Output only: Graph returned a member this gateway does not know yet.
    UnknownFutureValue,
}

/// An ADML language file of an uploaded definition file. Its content is write-only, as in Graph.
#[derive(SimpleObject)]
pub(crate) struct GroupPolicyUploadedLanguageFile {
    /// The ADML file name, e.g. contoso.adml.
    pub file_name: Option<String>,
    /// Its language, e.g. en-US.
    pub language_code: Option<String>,
    /// When it was last changed.
    pub last_modified_date_time: Option<DateTime>,
}

/// An ADMX file an admin uploaded, with its ADML files and the operations Intune recorded on it.
pub(crate) struct GroupPolicyUploadedDefinitionFile {
    pub file: DefinitionFile,
    /// The file's operations when they were read with it (subscriptions), so the nested
    /// first page costs no further call.
    pub operations: Option<Page>,
}

impl GroupPolicyUploadedDefinitionFile {
    /// A file read on its own.
    pub(crate) fn new(file: DefinitionFile) -> Self {
        GroupPolicyUploadedDefinitionFile {
            file,
            operations: None,
        }
    }
}

#[Object]
impl GroupPolicyUploadedDefinitionFile {
    /// The file's GUID, assigned by the service.
    async fn id(&self) -> ID {
        ID(self.file.id.to_string())
    }

    /// Name from the default language's ADML file.
    async fn display_name(&self) -> Option<&str> {
        self.file.display_name.as_deref()
    }

    /// Description from the default language's ADML file.
    async fn description(&self) -> Option<&str> {
        self.file.description.as_deref()
    }

    /// The ADMX file name, e.g. contoso.admx.
    async fn file_name(&self) -> Option<&str> {
        self.file.file_name.as_deref()
    }

    /// Languages of the file's ADML files.
    async fn language_codes(&self) -> &[String] {
        &self.file.language_codes
    }

    /// The prefix of the ADMX file's target namespace.
    async fn target_prefix(&self) -> Option<&str> {
        self.file.target_prefix.as_deref()
    }

    /// The ADMX file's target namespace, e.g. Contoso.Policies.Browser.
    async fn target_namespace(&self) -> Option<&str> {
        self.file.target_namespace.as_deref()
    }

    /// How Intune knows the file's policies.
    async fn policy_type(&self) -> GroupPolicyType {
        self.file.policy_type.into()
    }

    /// The ADMX file's revision, e.g. 1.2.
    async fn revision(&self) -> Option<&str> {
        self.file.revision.as_deref()
    }

    /// Where the file is in Intune's pipeline.
    async fn status(&self) -> GroupPolicyUploadedDefinitionFileStatus {
        self.file.status.into()
    }

    /// When the file was uploaded.
    async fn upload_date_time(&self) -> Option<DateTime> {
        self.file.upload_date_time.clone().map(DateTime)
    }

    /// When the service last changed the file.
    async fn last_modified_date_time(&self) -> DateTime {
        DateTime(self.file.last_modified.clone())
    }

    /// The language whose ADML file names and describes the file.
    async fn default_language_code(&self) -> Option<&str> {
        self.file.default_language_code.as_deref()
    }

    /// The file's ADML files (names and languages; contents are never returned).
    async fn group_policy_uploaded_language_files(&self) -> Vec<GroupPolicyUploadedLanguageFile> {
        self.file
            .language_files
            .iter()
            .map(|l| GroupPolicyUploadedLanguageFile {
                file_name: l.file_name.clone(),
                language_code: l.language_code.clone(),
                last_modified_date_time: l.last_modified.clone().map(DateTime),
            })
            .collect()
    }

    /// The operations Intune recorded on this file, a page at a time.
    /// Same paging rules as Query.groupPolicyOperations.
    async fn group_policy_operations(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many operations to return, 1 to 100; 25 when omitted.")]
        first: Option<i32>,
        #[graphql(desc = "Continue after this cursor (an `endCursor` from an earlier page).")]
        after: Option<String>,
    ) -> Result<GroupPolicyOperationConnection> {
        if let (Some(page), None) = (&self.operations, &after) {
            let first = crate::graphql::resolvers::page_size(first)?;
            let mut items = page.items.clone();
            let has_next_page = page.has_next_page || items.len() > first;
            items.truncate(first);
            return Ok(GroupPolicyOperationConnection::new(
                items,
                has_next_page,
                false,
            ));
        }
        operations_page(ctx, self.file.id, first, after).await
    }
}

/// Looks a definition file up through the request's file loader.
pub(crate) async fn load_file(
    ctx: &Context<'_>,
    id: Guid,
) -> Result<Option<GroupPolicyUploadedDefinitionFile>> {
    let loader = ctx.data::<FileLookups>()?;
    match loader.load_one(id).await {
        Some(found) => Ok(Some(GroupPolicyUploadedDefinitionFile::new(
            found.extend()?,
        ))),
        None => Ok(None),
    }
}

pub(crate) struct GroupPolicyUploadedDefinitionFileEdge {
    cursor: Cursor,
    node: GroupPolicyUploadedDefinitionFile,
}

/// A definition file and the cursor that resumes the list after it.
#[Object]
impl GroupPolicyUploadedDefinitionFileEdge {
    /// Opaque; pass it as `after` to continue after this file.
    async fn cursor(&self) -> String {
        self.cursor.get()
    }

    /// The file.
    async fn node(&self) -> &GroupPolicyUploadedDefinitionFile {
        &self.node
    }
}

/// One page of the tenant's definition files (a Relay connection, forward only).
pub(crate) struct GroupPolicyUploadedDefinitionFileConnection {
    pub edges: Vec<(Cursor, DefinitionFile)>,
    pub page_info: PageInfo,
}

#[Object]
impl GroupPolicyUploadedDefinitionFileConnection {
    /// The files of this page with their cursors, in a stable order.
    async fn edges(&self) -> Vec<GroupPolicyUploadedDefinitionFileEdge> {
        self.edges
            .iter()
            .map(|(cursor, file)| GroupPolicyUploadedDefinitionFileEdge {
                cursor: cursor.clone(),
                node: GroupPolicyUploadedDefinitionFile::new(file.clone()),
            })
            .collect()
    }

    /// The files of this page, without cursors (same order as `edges`).
    async fn nodes(&self) -> Vec<GroupPolicyUploadedDefinitionFile> {
        self.edges
            .iter()
            .map(|(_, file)| GroupPolicyUploadedDefinitionFile::new(file.clone()))
            .collect()
    }

    /// Whether more pages follow, and the cursors to fetch them.
    async fn page_info(&self) -> &PageInfo {
        &self.page_info
    }
}

/// An ADML file to send: its name, its language (e.g. en-US) and its bytes.
#[derive(InputObject)]
pub(crate) struct GroupPolicyUploadedLanguageFileInput {
    /// The ADML file name, e.g. contoso.adml.
    pub file_name: String,
    /// Its language, e.g. en-US. One ADML per language.
    pub language_code: String,
    /// The ADML bytes, standard base64.
    pub content: Base64,
}

/// Names an ADML file of a definition file, for removal.
#[derive(InputObject)]
pub(crate) struct GroupPolicyLanguageFileRefInput {
    /// The ADML file name, e.g. contoso.adml.
    pub file_name: String,
    /// Its language, e.g. de-DE.
    pub language_code: String,
}

/// An ADMX file to upload with its ADML files.
#[derive(InputObject)]
pub(crate) struct UploadGroupPolicyDefinitionFileInput {
    /// The ADMX file name, e.g. contoso.admx.
    pub file_name: String,
    /// The ADMX bytes, standard base64.
    pub content: Base64,
    /// The language whose ADML names the file, e.g. en-US; an ADML for it is required.
    pub default_language_code: String,
    /// The ADML files, one per language.
    pub group_policy_uploaded_language_files: Vec<GroupPolicyUploadedLanguageFileInput>,
}
