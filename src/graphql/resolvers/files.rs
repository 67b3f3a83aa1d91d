//! Resolvers of uploaded definition files: reads, the upload and the actions that start
//! Intune's work on a file, and the subscription that follows that work to its end.

use async_graphql::{Context, ErrorExtensions, ID, Object, Result, ResultExt, Subscription};
use futures_util::Stream;

use super::{backend, caller, page_size, until_settled};
use crate::domain::Guid;
use crate::domain::files::{
    FileAction, LanguageFileRef, LanguageFileUpload, NewDefinitionFile, check_languages,
};
use crate::graphql::types::PageInfo;
use crate::graphql::types::files::{
    Base64, GroupPolicyLanguageFileRefInput, GroupPolicyUploadedDefinitionFile,
    GroupPolicyUploadedDefinitionFileConnection, GroupPolicyUploadedLanguageFileInput,
    UploadGroupPolicyDefinitionFileInput, load_file,
};

fn file_id(argument: &str, id: &ID) -> Result<Guid> {
    Guid::parse(argument, id).extend()
}

/// Validates ADML uploads; `argument` names the list in errors.
fn uploads(
    argument: &str,
    files: Vec<GroupPolicyUploadedLanguageFileInput>,
    at_least_one: bool,
) -> Result<Vec<LanguageFileUpload>> {
    each_language_file(
        argument,
        files,
        at_least_one,
        |f| f.language_code.as_str(),
        |name, f| LanguageFileUpload::parse(name, &f.file_name, &f.language_code, f.content.0),
    )
}

/// Checks the languages of a list of ADML entries (distinct, and at least one if
/// `at_least_one`), then reads each with `parse`, which names it `argument[i]` in errors.
fn each_language_file<F, T>(
    argument: &str,
    files: Vec<F>,
    at_least_one: bool,
    language: impl Fn(&F) -> &str,
    parse: impl Fn(&str, F) -> Result<T, crate::error::Error>,
) -> Result<Vec<T>> {
    check_languages(argument, files.iter().map(&language), at_least_one).extend()?;
    files
        .into_iter()
        .enumerate()
        .map(|(i, f)| parse(&format!("{argument}[{i}]"), f).extend())
        .collect()
}

/// Reads of uploaded definition files.
#[derive(Default)]
pub(crate) struct FileQuery;

#[Object]
impl FileQuery {
    /// One uploaded ADMX definition file; null when the file does not exist.
    async fn group_policy_uploaded_definition_file(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "GUID of the groupPolicyUploadedDefinitionFile.")] id: ID,
    ) -> Result<Option<GroupPolicyUploadedDefinitionFile>> {
        load_file(ctx, file_id("id", &id)?).await
    }

    /// The tenant's uploaded definition files, a page at a time, in a stable order.
    /// Forward pagination as for operations.
    async fn group_policy_uploaded_definition_files(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many files to return, 1 to 100; 25 when omitted.")] first: Option<
            i32,
        >,
        #[graphql(desc = "Continue after this cursor (an `endCursor` from an earlier page).")]
        after: Option<String>,
    ) -> Result<GroupPolicyUploadedDefinitionFileConnection> {
        let first = page_size(first)?;
        let page = backend(ctx)?
            .list_files(caller(ctx)?, first, after.as_deref())
            .await
            .extend()?;
        let page_info = PageInfo {
            has_next_page: page.has_next_page,
            has_previous_page: after.is_some(),
            start_cursor: page.items.first().map(|(cursor, _)| cursor.clone()),
            end_cursor: page.items.last().map(|(cursor, _)| cursor.clone()),
        };
        Ok(GroupPolicyUploadedDefinitionFileConnection {
            edges: page.items,
            page_info,
        })
    }
}

/// Starts `action` on the file whose id is the argument `argument`, and returns the file.
async fn act(
    ctx: &Context<'_>,
    argument: &str,
    id: &ID,
    action: FileAction,
) -> Result<GroupPolicyUploadedDefinitionFile> {
    let id = file_id(argument, id)?;
    let file = backend(ctx)?
        .act_on_file(caller(ctx)?, id, action)
        .await
        .extend()?;
    Ok(GroupPolicyUploadedDefinitionFile::new(file))
}

/// Work on uploaded definition files. Each mutation starts Intune's asynchronous processing
/// and returns the file as it is right after; follow
/// `groupPolicyUploadedDefinitionFileChanged` to see the work end.
#[derive(Default)]
pub(crate) struct FileMutation;

#[Object]
impl FileMutation {
    /// Uploads an ADMX file with its ADML files. Intune processes it asynchronously: the file comes back UPLOAD_IN_PROGRESS with an UPLOAD operation IN_PROGRESS; follow groupPolicyUploadedDefinitionFileChanged to AVAILABLE or UPLOAD_FAILED.
    async fn upload_group_policy_definition_file(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The ADMX file, its default language and its ADML files.")]
        input: UploadGroupPolicyDefinitionFileInput,
    ) -> Result<GroupPolicyUploadedDefinitionFile> {
        let language_files = uploads(
            "input.groupPolicyUploadedLanguageFiles",
            input.group_policy_uploaded_language_files,
            false,
        )?;
        let new = NewDefinitionFile::parse(
            &input.file_name,
            input.content.0,
            &input.default_language_code,
            language_files,
        )
        .extend()?;
        let file = backend(ctx)?
            .upload_file(caller(ctx)?, new)
            .await
            .extend()?;
        Ok(GroupPolicyUploadedDefinitionFile::new(file))
    }

    /// Adds ADML files for languages the file does not have yet (one per language).
    /// Each action below starts one operation on the file and returns the file as it is right after.
    async fn add_group_policy_language_files(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "GUID of the groupPolicyUploadedDefinitionFile.")] definition_file_id: ID,
        #[graphql(desc = "The ADML files to add.")] language_files: Vec<
            GroupPolicyUploadedLanguageFileInput,
        >,
    ) -> Result<GroupPolicyUploadedDefinitionFile> {
        let files = uploads("languageFiles", language_files, true)?;
        let action = FileAction::AddLanguageFiles(files);
        act(ctx, "definitionFileId", &definition_file_id, action).await
    }

    /// Replaces ADML files of languages the file already has.
    async fn update_group_policy_language_files(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "GUID of the groupPolicyUploadedDefinitionFile.")] definition_file_id: ID,
        #[graphql(desc = "The new ADML files.")] language_files: Vec<
            GroupPolicyUploadedLanguageFileInput,
        >,
    ) -> Result<GroupPolicyUploadedDefinitionFile> {
        let files = uploads("languageFiles", language_files, true)?;
        let action = FileAction::UpdateLanguageFiles(files);
        act(ctx, "definitionFileId", &definition_file_id, action).await
    }

    /// Removes ADML files (never the default language's).
    async fn remove_group_policy_language_files(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "GUID of the groupPolicyUploadedDefinitionFile.")] definition_file_id: ID,
        #[graphql(desc = "The ADML files to remove.")] language_files: Vec<
            GroupPolicyLanguageFileRefInput,
        >,
    ) -> Result<GroupPolicyUploadedDefinitionFile> {
        let refs = each_language_file(
            "languageFiles",
            language_files,
            true,
            |f| f.language_code.as_str(),
            |name, f| LanguageFileRef::parse(name, &f.file_name, &f.language_code),
        )?;
        act(
            ctx,
            "definitionFileId",
            &definition_file_id,
            FileAction::RemoveLanguageFiles(refs),
        )
        .await
    }

    /// Uploads a new version of the ADMX file, with new ADML files for any languages given.
    async fn upload_new_group_policy_definition_file_version(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "GUID of the groupPolicyUploadedDefinitionFile.")] definition_file_id: ID,
        #[graphql(desc = "The new ADMX bytes, standard base64.")] content: Base64,
        #[graphql(desc = "New ADML files (may be empty).")] language_files: Vec<
            GroupPolicyUploadedLanguageFileInput,
        >,
    ) -> Result<GroupPolicyUploadedDefinitionFile> {
        if content.0.is_empty() {
            return Err(crate::error::Error::bad_argument(
                "content",
                "`content` must not be empty",
            )
            .extend());
        }
        let language_files = uploads("languageFiles", language_files, false)?;
        let action = FileAction::UploadNewVersion {
            content: content.0,
            language_files,
        };
        act(ctx, "definitionFileId", &definition_file_id, action).await
    }

    /// Intune's remove action: the file goes REMOVAL_IN_PROGRESS, then disappears.
    async fn remove_group_policy_uploaded_definition_file(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "GUID of the groupPolicyUploadedDefinitionFile.")] id: ID,
    ) -> Result<GroupPolicyUploadedDefinitionFile> {
        act(ctx, "id", &id, FileAction::Remove).await
    }

    /// Deletes the file record at once (used to clean up failed uploads). Returns its id;
    /// NOT_FOUND when there was none.
    async fn delete_group_policy_uploaded_definition_file(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "GUID of the groupPolicyUploadedDefinitionFile.")] id: ID,
    ) -> Result<ID> {
        let id = file_id("id", &id)?;
        backend(ctx)?.delete_file(caller(ctx)?, id).await.extend()?;
        Ok(ID(id.to_string()))
    }
}

/// Live updates of a definition file.
#[derive(Default)]
pub(crate) struct FileSubscription;

#[Subscription]
impl FileSubscription {
    /// Emits the file at once, then whenever its status or any of its operations changes; completes when the status is final (AVAILABLE, ASSIGNED, UPLOAD_FAILED, REMOVAL_FAILED) and none of its operations is IN_PROGRESS, or when the file is gone. A missing file ends with `NOT_FOUND`.
    async fn group_policy_uploaded_definition_file_changed(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "GUID of the groupPolicyUploadedDefinitionFile to follow.")] id: ID,
    ) -> Result<impl Stream<Item = Result<GroupPolicyUploadedDefinitionFile>> + use<>> {
        let id = file_id("id", &id)?;
        let watch = backend(ctx)?.watch_file(caller(ctx)?, id).await.extend()?;
        Ok(until_settled(watch, |watched| {
            let settled = watched.is_settled();
            let file = GroupPolicyUploadedDefinitionFile {
                file: watched.file,
                operations: Some(watched.operations),
            };
            (settled, file)
        }))
    }
}
