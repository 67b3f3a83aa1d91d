//! Graph's resources as this gateway uses them: where each lives under the version root, and
//! the one shared client that calls them. The backend, the Graph `$batch` lookups and the
//! pollers are each given this (not each other), so none reaches into another's parts.

use url::Url;

use super::client::GraphClient;
use crate::domain::{Guid, OperationKey};

const DEFINITION_FILES: [&str; 2] = ["deviceManagement", "groupPolicyUploadedDefinitionFiles"];
const OPERATIONS: &str = "groupPolicyOperations";

/// The URLs of the resources the gateway calls, and the client to call them with.
pub(crate) struct GraphApi {
    client: GraphClient,
    navigation_reads: bool,
}

impl GraphApi {
    /// `navigation_reads`: read operations through the `groupPolicyOperations` routes
    /// (`--graph-navigation-reads`) rather than the file's `$expand`.
    pub(crate) fn new(client: GraphClient, navigation_reads: bool) -> Self {
        GraphApi {
            client,
            navigation_reads,
        }
    }

    /// Whether operations are read through the navigation routes.
    pub(crate) fn navigation_reads(&self) -> bool {
        self.navigation_reads
    }

    /// The shared client.
    pub(crate) fn client(&self) -> &GraphClient {
        &self.client
    }

    /// `.../groupPolicyUploadedDefinitionFiles`.
    pub(crate) fn files(&self) -> Url {
        self.client.url(&DEFINITION_FILES, &[])
    }

    /// `.../groupPolicyUploadedDefinitionFiles/{id}` followed by `rest`, with `query`.
    pub(crate) fn file(&self, id: Guid, rest: &[&str], query: &[(&str, String)]) -> Url {
        let id = id.to_string();
        let mut segments = DEFINITION_FILES.to_vec();
        segments.push(&id);
        segments.extend_from_slice(rest);
        self.client.url(&segments, query)
    }

    /// A definition file's operations, with `query`.
    pub(crate) fn operations(&self, file: Guid, query: &[(&str, String)]) -> Url {
        self.file(file, &[OPERATIONS], query)
    }

    /// One operation.
    pub(crate) fn operation(&self, key: OperationKey) -> Url {
        self.file(
            key.definition_file_id,
            &[OPERATIONS, &key.id.to_string()],
            &[],
        )
    }

    /// Graph's JSON batching endpoint.
    pub(crate) fn batch(&self) -> Url {
        self.client.url(&["$batch"], &[])
    }
}
