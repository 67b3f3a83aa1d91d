//! The fake Graph's `groupPolicyUploadedDefinitionFiles`: list (paged with nextLinks), upload,
//! read (with `$expand=groupPolicyOperations`), delete, and the actions, which answer 204 and
//! record an operation `inProgress` like Intune. Bodies are checked strictly against Graph's
//! shape (`@odata.type`, known members, base64 content), so a gateway bug shows up here.
//!
//! A file exists once uploaded, or once a test registers it ([`FakeGraph::insert_file`], or
//! [`FakeGraph::insert`] of an operation into it); operation routes of other files get 404.

use std::time::Duration;

use base64::Engine;
use serde_json::{Map, Value, json};

use crate::FakeGraph;
use crate::odata::{is_guid, parse_query};
use crate::serve::{IncomingRequest, Reply, RequestIds, json_object_body};
use crate::state::FILE_LIST;

/// The `@odata.type` of an upload body.
const FILE_TYPE: &str = "#microsoft.graph.groupPolicyUploadedDefinitionFile";
/// The `@odata.type` of a language file in a body.
const LANGUAGE_FILE_TYPE: &str = "microsoft.graph.groupPolicyUploadedLanguageFile";
/// The actions a file has.
const ACTIONS: [&str; 5] = [
    "addLanguageFiles",
    "updateLanguageFiles",
    "removeLanguageFiles",
    "uploadNewVersion",
    "remove",
];

impl FakeGraph {
    /// Registers a definition file with this id (status `available`, no operations).
    pub fn insert_file(&self, id: &str) {
        let ts = self.lock().next_timestamp();
        self.put_file(json!({
            "id": id.to_ascii_lowercase(), "displayName": "Test file", "description": null,
            "fileName": "test.admx", "languageCodes": ["en-US"], "targetPrefix": "test",
            "targetNamespace": "Test.Policies", "policyType": "admxIngested", "revision": "1.0",
            "status": "available", "uploadDateTime": ts, "lastModifiedDateTime": ts,
            "defaultLanguageCode": "en-US",
            "groupPolicyUploadedLanguageFiles": [{"fileName": "test.adml", "languageCode": "en-US", "lastModifiedDateTime": ts}]
        }));
    }

    /// Stores a file entity (raw Graph JSON with a GUID `id`), replacing one with that id.
    pub fn put_file(&self, entity: Value) {
        let id = entity["id"]
            .as_str()
            .expect("a file id")
            .to_ascii_lowercase();
        let mut state = self.lock();
        state.operations.entry(id.clone()).or_default();
        match state.files.iter_mut().find(|e| e["id"] == id.as_str()) {
            Some(existing) => *existing = entity,
            None => state.files.push(entity),
        }
    }

    /// A stored file entity, if present.
    pub fn file(&self, id: &str) -> Option<Value> {
        let id = id.to_ascii_lowercase();
        self.lock()
            .files
            .iter()
            .find(|e| e["id"] == id.as_str())
            .cloned()
    }

    /// Merges `changes` into a stored file, as the service does when work progresses.
    pub fn update_file(&self, id: &str, changes: Value) -> bool {
        let id = id.to_ascii_lowercase();
        let mut state = self.lock();
        let Some(file) = state.files.iter_mut().find(|e| e["id"] == id.as_str()) else {
            return false;
        };
        if let (Some(obj), Some(changes)) = (file.as_object_mut(), changes.as_object()) {
            obj.extend(changes.clone());
        }
        true
    }

    /// Makes uploads succeed on their own `after` they were accepted, as Intune's processing
    /// does: the file becomes `available` and its upload operation `success`.
    pub fn set_auto_process(&self, after: Duration) {
        self.lock().auto_process = Some(after);
    }

    /// Whether a definition file with this id exists.
    pub(crate) fn file_exists(&self, id: &str) -> bool {
        let id = id.to_ascii_lowercase();
        self.lock().files.iter().any(|e| e["id"] == id.as_str())
    }

    /// Routes `deviceManagement/groupPolicyUploadedDefinitionFiles[/{id}[/{action}]]`;
    /// `None` for paths that are not a file's own (its operations are routed elsewhere).
    pub(crate) fn route_files(
        &self,
        ids: &RequestIds,
        req: &IncomingRequest,
        segs: &[String],
        token: &str,
    ) -> Option<Result<Reply, Reply>> {
        let ours = segs.len() >= 2
            && segs.len() <= 4
            && segs[0].eq_ignore_ascii_case("deviceManagement")
            && segs[1].eq_ignore_ascii_case("groupPolicyUploadedDefinitionFiles")
            && !(segs.len() == 4 && segs[3].eq_ignore_ascii_case("groupPolicyOperations"));
        if !ours {
            return None;
        }
        Some(self.serve_file_route(ids, req, segs, token))
    }

    fn serve_file_route(
        &self,
        ids: &RequestIds,
        req: &IncomingRequest,
        segs: &[String],
        token: &str,
    ) -> Result<Reply, Reply> {
        if let Some(id) = segs.get(2)
            && !is_guid(id)
        {
            return Err(ids.bad_request(&format!(
                "Invalid key '{id}': groupPolicyUploadedDefinitionFile id must be a GUID."
            )));
        }
        if req.method != "GET" && token == "read-only" {
            return Err(ids.error(
                403,
                "Forbidden",
                "Application is not authorized to perform this operation.",
            ));
        }
        match (req.method.as_str(), segs.get(2), segs.get(3)) {
            ("GET", None, None) => self.list_files(ids, req),
            ("POST", None, None) => self.upload(ids, req),
            ("GET", Some(id), None) => self.read_file(ids, req, id),
            ("DELETE", Some(id), None) => self.delete_file(ids, req, id),
            ("POST", Some(id), Some(action)) if ACTIONS.contains(&action.as_str()) => {
                self.run_action(ids, req, id, action)
            }
            _ => Err(self.no_route(ids, req)),
        }
    }

    fn read_file(&self, ids: &RequestIds, req: &IncomingRequest, id: &str) -> Result<Reply, Reply> {
        let q = parse_query(ids, req, &["$expand"])?;
        let mut file = self.file(id).ok_or_else(|| file_missing(ids))?;
        if q.expand {
            file["groupPolicyOperations"] = Value::Array(self.entities(id));
        }
        Ok(Reply::json(200, file))
    }

    fn delete_file(
        &self,
        ids: &RequestIds,
        req: &IncomingRequest,
        id: &str,
    ) -> Result<Reply, Reply> {
        parse_query(ids, req, &[])?;
        let id = id.to_ascii_lowercase();
        let mut state = self.lock();
        let before = state.files.len();
        state.files.retain(|e| e["id"] != id.as_str());
        if state.files.len() == before {
            return Err(file_missing(ids));
        }
        state.operations.remove(&id);
        Ok(Reply::empty(204))
    }

    fn run_action(
        &self,
        ids: &RequestIds,
        req: &IncomingRequest,
        id: &str,
        action: &str,
    ) -> Result<Reply, Reply> {
        parse_query(ids, req, &[])?;
        if !self.file_exists(id) {
            return Err(file_missing(ids));
        }
        check_action_body(ids, req, action)?;
        self.start_work(id, action);
        Ok(Reply::empty(204))
    }

    fn list_files(&self, ids: &RequestIds, req: &IncomingRequest) -> Result<Reply, Reply> {
        let q = parse_query(ids, req, &["$skiptoken"])?;
        let mut state = self.lock();
        let start = state.resume_offset(ids, q.skiptoken.as_deref(), FILE_LIST)?;
        let end = (start + state.page_size).min(state.files.len());
        let mut body = Map::new();
        body.insert(
            "@odata.context".into(),
            json!(format!(
                "{}/$metadata#deviceManagement/groupPolicyUploadedDefinitionFiles",
                self.base_url()
            )),
        );
        body.insert(
            "value".into(),
            Value::Array(state.files[start.min(end)..end].to_vec()),
        );
        if end < state.files.len() {
            let link = state.next_link(&self.inner.origin, req, FILE_LIST, end);
            body.insert("@odata.nextLink".into(), json!(link));
        }
        Ok(Reply::json(200, Value::Object(body)))
    }

    fn upload(&self, ids: &RequestIds, req: &IncomingRequest) -> Result<Reply, Reply> {
        parse_query(ids, req, &[])?;
        let body = json_body(ids, req)?;
        // The admin portal's own upload carries no `@odata.type` and may leave out the
        // language files; `defaultLanguageCode` comes as `""`.
        check_members(
            ids,
            &body,
            &["fileName", "content"],
            &[
                "@odata.type",
                "defaultLanguageCode",
                "groupPolicyUploadedLanguageFiles",
            ],
        )?;
        if body.get("@odata.type").is_some_and(|t| t != FILE_TYPE) {
            return Err(ids.bad_request(
                "@odata.type must be #microsoft.graph.groupPolicyUploadedDefinitionFile.",
            ));
        }
        check_base64(ids, &body["content"])?;
        let no_files = json!([]);
        let files = body
            .get("groupPolicyUploadedLanguageFiles")
            .unwrap_or(&no_files);
        check_language_files(ids, files, true)?;
        let id = FakeGraph::new_id();
        let ts = self.lock().next_timestamp();
        // As the captured admin-portal upload is answered: Graph's "never" for
        // `uploadDateTime`, and the language files not echoed (empty lists). What later reads
        // show of them is unverified; the fake keeps them empty.
        let entity = json!({
            "id": id, "displayName": null, "description": null,
            "fileName": body["fileName"], "languageCodes": [],
            "targetPrefix": null, "targetNamespace": null, "policyType": "admxIngested",
            "revision": null, "status": "uploadInProgress", "uploadDateTime": "0001-01-01T00:00:00Z",
            "lastModifiedDateTime": ts,
            "defaultLanguageCode": body.get("defaultLanguageCode").cloned().unwrap_or(Value::Null),
            "groupPolicyUploadedLanguageFiles": []
        });
        self.put_file(entity.clone());
        let op = self.insert_op(&id, "upload", "inProgress", None);
        let auto_process = self.lock().auto_process;
        if let Some(after) = auto_process {
            let fake = self.clone();
            let file = id.clone();
            tokio::spawn(async move {
                tokio::time::sleep(after).await;
                fake.update(&file, &op, json!({ "operationStatus": "success", "statusDetails": "Processed by the fake Graph" }));
                fake.update_file(&file, json!({ "status": "available" }));
            });
        }
        let mut out = entity;
        out["@odata.context"] = json!(format!(
            "{}/$metadata#deviceManagement/groupPolicyUploadedDefinitionFiles/$entity",
            self.base_url()
        ));
        Ok(Reply::json(201, out))
    }

    /// Records the operation an action starts and moves the file's status, as Intune does.
    fn start_work(&self, id: &str, action: &str) {
        let (status, op_type) = match action {
            "remove" => ("removalInProgress", "remove"),
            other => ("uploadInProgress", other),
        };
        self.update_file(id, json!({ "status": status }));
        self.insert_op(id, op_type, "inProgress", None);
    }
}

fn file_missing(ids: &RequestIds) -> Reply {
    ids.error(404, "ResourceNotFound", "Resource not found.")
}

fn json_body(ids: &RequestIds, req: &IncomingRequest) -> Result<Value, Reply> {
    json_object_body(ids, req).map(Value::Object)
}

/// Refuses members not in `required` or `optional`, and `required` members left out.
fn check_members(
    ids: &RequestIds,
    body: &Value,
    required: &[&str],
    optional: &[&str],
) -> Result<(), Reply> {
    let obj = body
        .as_object()
        .map(|o| o.keys().cloned().collect::<Vec<_>>())
        .unwrap_or_default();
    let known = |k: &str| required.contains(&k) || optional.contains(&k);
    if let Some(unknown) = obj.iter().find(|k| !known(k)) {
        return Err(ids.bad_request(&format!(
            "The property '{unknown}' does not exist on this type."
        )));
    }
    if let Some(missing) = required.iter().find(|k| body.get(**k).is_none()) {
        return Err(ids.bad_request(&format!("The property '{missing}' is required.")));
    }
    Ok(())
}

fn check_base64(ids: &RequestIds, value: &Value) -> Result<(), Reply> {
    let ok = value
        .as_str()
        .is_some_and(|s| base64::engine::general_purpose::STANDARD.decode(s).is_ok());
    ok.then_some(())
        .ok_or_else(|| ids.bad_request("Cannot convert the literal to Edm.Binary."))
}

/// Checks each language file; returns their (fileName, languageCode).
fn check_language_files(
    ids: &RequestIds,
    files: &Value,
    with_content: bool,
) -> Result<Vec<(String, String)>, Reply> {
    let files = files
        .as_array()
        .ok_or_else(|| ids.bad_request("groupPolicyUploadedLanguageFiles must be a collection."))?;
    let members: &[&str] = if with_content {
        &["fileName", "languageCode", "content"]
    } else {
        &["fileName", "languageCode"]
    };
    files
        .iter()
        .map(|file| {
            check_members(ids, file, members, &["@odata.type"])?;
            if file.get("@odata.type").is_some_and(|t| t != LANGUAGE_FILE_TYPE) {
                return Err(ids.bad_request("A language file's @odata.type must be microsoft.graph.groupPolicyUploadedLanguageFile."));
            }
            if with_content {
                check_base64(ids, &file["content"])?;
            }
            Ok((
                file["fileName"].as_str().unwrap_or_default().to_owned(),
                file["languageCode"].as_str().unwrap_or_default().to_owned(),
            ))
        })
        .collect()
}

fn check_action_body(ids: &RequestIds, req: &IncomingRequest, action: &str) -> Result<(), Reply> {
    if action == "remove" {
        return if req.body.is_empty() {
            Ok(())
        } else {
            Err(ids.bad_request("The remove action takes no body."))
        };
    }
    let body = json_body(ids, req)?;
    if action == "uploadNewVersion" {
        check_members(
            ids,
            &body,
            &["content", "groupPolicyUploadedLanguageFiles"],
            &[],
        )?;
        check_base64(ids, &body["content"])?;
    } else {
        check_members(ids, &body, &["groupPolicyUploadedLanguageFiles"], &[])?;
    }
    check_language_files(
        ids,
        &body["groupPolicyUploadedLanguageFiles"],
        action != "removeLanguageFiles",
    )?;
    Ok(())
}
