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

use super::{Ctx, FakeGraph, Reply, Req, is_guid, new_skiptoken, parse_query, percent_encode};

/// The `@odata.type` of an upload body.
pub const FILE_TYPE: &str = "#microsoft.graph.groupPolicyUploadedDefinitionFile";
/// The `@odata.type` of a language file in a body.
pub const LANGUAGE_FILE_TYPE: &str = "microsoft.graph.groupPolicyUploadedLanguageFile";
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
        let mut st = self.lock();
        st.files.entry(id.clone()).or_default();
        match st.defs.iter_mut().find(|e| e["id"] == id.as_str()) {
            Some(existing) => *existing = entity,
            None => st.defs.push(entity),
        }
    }

    /// A stored file entity, if present.
    pub fn file(&self, id: &str) -> Option<Value> {
        let id = id.to_ascii_lowercase();
        self.lock()
            .defs
            .iter()
            .find(|e| e["id"] == id.as_str())
            .cloned()
    }

    /// Merges `changes` into a stored file, as the service does when work progresses.
    pub fn update_file(&self, id: &str, changes: Value) -> bool {
        let id = id.to_ascii_lowercase();
        let mut st = self.lock();
        let Some(file) = st.defs.iter_mut().find(|e| e["id"] == id.as_str()) else {
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
    pub(super) fn file_exists(&self, id: &str) -> bool {
        let id = id.to_ascii_lowercase();
        self.lock().defs.iter().any(|e| e["id"] == id.as_str())
    }

    /// Routes `deviceManagement/groupPolicyUploadedDefinitionFiles[/{id}[/{action}]]`;
    /// `None` for paths that are not a file's own (its operations are routed elsewhere).
    pub(super) fn route_files(
        &self,
        ctx: &Ctx,
        req: &Req,
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
        Some(self.serve_file_route(ctx, req, segs, token))
    }

    fn serve_file_route(
        &self,
        ctx: &Ctx,
        req: &Req,
        segs: &[String],
        token: &str,
    ) -> Result<Reply, Reply> {
        if let Some(id) = segs.get(2)
            && !is_guid(id)
        {
            return Err(ctx.bad_request(&format!(
                "Invalid key '{id}': groupPolicyUploadedDefinitionFile id must be a GUID."
            )));
        }
        if req.method != "GET" && token == "read-only" {
            return Err(ctx.error(
                403,
                "Forbidden",
                "Application is not authorized to perform this operation.",
            ));
        }
        let missing = || ctx.error(404, "ResourceNotFound", "Resource not found.");
        match (req.method.as_str(), segs.get(2), segs.get(3)) {
            ("GET", None, None) => self.list_files(ctx, req),
            ("POST", None, None) => self.upload(ctx, req),
            ("GET", Some(id), None) => {
                let q = parse_query(ctx, req.query.as_deref(), &["$expand"])?;
                let mut file = self.file(id).ok_or_else(missing)?;
                if q.expand {
                    file["groupPolicyOperations"] = Value::Array(self.entities(id));
                }
                Ok(Reply::json(200, file))
            }
            ("DELETE", Some(id), None) => {
                parse_query(ctx, req.query.as_deref(), &[])?;
                let id = id.to_ascii_lowercase();
                let mut st = self.lock();
                let before = st.defs.len();
                st.defs.retain(|e| e["id"] != id.as_str());
                if st.defs.len() == before {
                    return Err(missing());
                }
                st.files.remove(&id);
                Ok(Reply::empty(204))
            }
            ("POST", Some(id), Some(action)) if ACTIONS.contains(&action.as_str()) => {
                parse_query(ctx, req.query.as_deref(), &[])?;
                if !self.file_exists(id) {
                    return Err(missing());
                }
                check_action_body(ctx, req, action)?;
                self.start_work(id, action);
                Ok(Reply::empty(204))
            }
            _ => Err(ctx.error(
                405,
                "BadRequest",
                "The HTTP method is not supported on this resource.",
            )),
        }
    }

    fn list_files(&self, ctx: &Ctx, req: &Req) -> Result<Reply, Reply> {
        let q = parse_query(ctx, req.query.as_deref(), &["$skiptoken"])?;
        let mut st = self.lock();
        let start = match &q.skiptoken {
            None => 0,
            Some(token) => match st.skiptokens.get(token) {
                Some((list, offset)) if list == "files" => *offset,
                _ => return Err(ctx.bad_request("The $skiptoken value is invalid or has expired.")),
            },
        };
        let end = (start + st.page_size).min(st.defs.len());
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
            Value::Array(st.defs[start.min(end)..end].to_vec()),
        );
        if end < st.defs.len() {
            let token = new_skiptoken();
            st.skiptokens
                .insert(token.clone(), ("files".to_owned(), end));
            body.insert(
                "@odata.nextLink".into(),
                json!(format!(
                    "{}{}?$skiptoken={}",
                    self.origin(),
                    req.raw_path,
                    percent_encode(&token)
                )),
            );
        }
        Ok(Reply::json(200, Value::Object(body)))
    }

    fn upload(&self, ctx: &Ctx, req: &Req) -> Result<Reply, Reply> {
        parse_query(ctx, req.query.as_deref(), &[])?;
        let body = json_body(ctx, req)?;
        check_members(
            ctx,
            &body,
            &[
                "@odata.type",
                "fileName",
                "content",
                "defaultLanguageCode",
                "groupPolicyUploadedLanguageFiles",
            ],
        )?;
        if body["@odata.type"] != FILE_TYPE {
            return Err(ctx.bad_request(
                "@odata.type must be #microsoft.graph.groupPolicyUploadedDefinitionFile.",
            ));
        }
        check_base64(ctx, &body["content"])?;
        let languages = check_language_files(ctx, &body["groupPolicyUploadedLanguageFiles"], true)?;
        let id = FakeGraph::new_id();
        let ts = self.lock().next_timestamp();
        let entity = json!({
            "id": id, "displayName": null, "description": null,
            "fileName": body["fileName"], "languageCodes": languages.iter().map(|(_, l)| l.clone()).collect::<Vec<_>>(),
            "targetPrefix": null, "targetNamespace": null, "policyType": "admxIngested",
            "revision": null, "status": "uploadInProgress", "uploadDateTime": ts,
            "lastModifiedDateTime": ts, "defaultLanguageCode": body["defaultLanguageCode"],
            "groupPolicyUploadedLanguageFiles": languages.iter().map(|(f, l)| json!({"fileName": f, "languageCode": l, "lastModifiedDateTime": ts})).collect::<Vec<_>>()
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

fn json_body(ctx: &Ctx, req: &Req) -> Result<Value, Reply> {
    super::check_json_content_type(ctx, &req.headers)?;
    let body: Value = serde_json::from_slice(&req.body)
        .map_err(|e| ctx.bad_request(&format!("Unable to read JSON request payload: {e}")))?;
    if !body.is_object() {
        return Err(ctx.bad_request("The request payload must be a JSON object."));
    }
    Ok(body)
}

fn check_members(ctx: &Ctx, body: &Value, known: &[&str]) -> Result<(), Reply> {
    let obj = body
        .as_object()
        .map(|o| o.keys().cloned().collect::<Vec<_>>())
        .unwrap_or_default();
    if let Some(unknown) = obj.iter().find(|k| !known.contains(&k.as_str())) {
        return Err(ctx.bad_request(&format!(
            "The property '{unknown}' does not exist on this type."
        )));
    }
    if let Some(missing) = known.iter().find(|k| body.get(**k).is_none()) {
        return Err(ctx.bad_request(&format!("The property '{missing}' is required.")));
    }
    Ok(())
}

fn check_base64(ctx: &Ctx, value: &Value) -> Result<(), Reply> {
    let ok = value
        .as_str()
        .is_some_and(|s| base64::engine::general_purpose::STANDARD.decode(s).is_ok());
    ok.then_some(())
        .ok_or_else(|| ctx.bad_request("Cannot convert the literal to Edm.Binary."))
}

/// Checks each language file; returns their (fileName, languageCode).
fn check_language_files(
    ctx: &Ctx,
    files: &Value,
    with_content: bool,
) -> Result<Vec<(String, String)>, Reply> {
    let files = files
        .as_array()
        .ok_or_else(|| ctx.bad_request("groupPolicyUploadedLanguageFiles must be a collection."))?;
    let members: &[&str] = if with_content {
        &["@odata.type", "fileName", "languageCode", "content"]
    } else {
        &["@odata.type", "fileName", "languageCode"]
    };
    files
        .iter()
        .map(|file| {
            check_members(ctx, file, members)?;
            if file["@odata.type"] != LANGUAGE_FILE_TYPE {
                return Err(ctx.bad_request("A language file's @odata.type must be microsoft.graph.groupPolicyUploadedLanguageFile."));
            }
            if with_content {
                check_base64(ctx, &file["content"])?;
            }
            Ok((
                file["fileName"].as_str().unwrap_or_default().to_owned(),
                file["languageCode"].as_str().unwrap_or_default().to_owned(),
            ))
        })
        .collect()
}

fn check_action_body(ctx: &Ctx, req: &Req, action: &str) -> Result<(), Reply> {
    if action == "remove" {
        return if req.body.is_empty() {
            Ok(())
        } else {
            Err(ctx.bad_request("The remove action takes no body."))
        };
    }
    let body = json_body(ctx, req)?;
    if action == "uploadNewVersion" {
        check_members(ctx, &body, &["content", "groupPolicyUploadedLanguageFiles"])?;
        check_base64(ctx, &body["content"])?;
    } else {
        check_members(ctx, &body, &["groupPolicyUploadedLanguageFiles"])?;
    }
    check_language_files(
        ctx,
        &body["groupPolicyUploadedLanguageFiles"],
        action != "removeLanguageFiles",
    )?;
    Ok(())
}
