//! The fake's `groupPolicyOperations` of a definition file: list (paged, `$select`,
//! `$top`), read, create, update (204 or 200, as a test chooses) and delete, with the
//! checks and answers Graph gives.

use serde_json::{Map, Value, json};

use crate::FakeGraph;
use crate::odata::{id_eq, intune_message, is_guid, parse_query, project};
use crate::serve::{IncomingRequest, Reply, RequestIds, json_object_body};
use crate::state::merge_changes;

/// The `@odata.type` a request body may carry.
const ODATA_TYPE: &str = "#microsoft.graph.groupPolicyOperation";

/// Members of `groupPolicyOperationType`, in numeric order.
const OPERATION_TYPES: [&str; 7] = [
    "none",
    "upload",
    "uploadNewVersion",
    "addLanguageFiles",
    "removeLanguageFiles",
    "updateLanguageFiles",
    "remove",
];

/// Members of `groupPolicyOperationStatus`, in numeric order.
const OPERATION_STATUSES: [&str; 4] = ["unknown", "inProgress", "success", "failed"];

/// Which operation (or the collection) a request names.
struct Target<'a> {
    file_id: &'a str,
    operation_id: Option<&'a str>,
}

impl FakeGraph {
    /// Routes `deviceManagement/groupPolicyUploadedDefinitionFiles/{fileId}/groupPolicyOperations[/{id}]`.
    pub(crate) fn route_operations(
        &self,
        ids: &RequestIds,
        req: &IncomingRequest,
        segs: &[String],
        token: &str,
    ) -> Result<Reply, Reply> {
        let Some(target) = operation_target(ids, segs)? else {
            return Err(self.no_route(ids, req));
        };
        // `groupPolicyOperations` is a non-contained navigation in the beta metadata, and Intune
        // answers such routes it does not serve with "No method match route template"; whether
        // it serves these GETs is unverified, so they are off unless a test turns them on.
        if req.method == "GET" && !self.lock().navigation_reads {
            return Err(self.no_route(ids, req));
        }
        let write = matches!(req.method.as_str(), "POST" | "PATCH" | "PUT" | "DELETE");
        if write && token == "read-only" {
            return Err(ids.error(
                403,
                "Forbidden",
                &intune_message(
                    "Application is not authorized to perform this operation. Application must have one of the following scopes: DeviceManagementConfiguration.ReadWrite.All",
                    &ids.request_id,
                    Some(&format!("{}{}", self.inner.origin, req.raw_path)),
                ),
            ));
        }
        let file_id = target.file_id;
        match (req.method.as_str(), target.operation_id) {
            ("GET", None) => self.list(ids, req, file_id),
            ("POST", None) => self.create(ids, req, file_id),
            ("GET", Some(id)) => self.get_one(ids, req, file_id, id),
            ("PATCH", Some(id)) => self.patch(ids, req, file_id, id),
            ("DELETE", Some(id)) => self.delete(ids, req, file_id, id),
            _ => Err(self.no_route(ids, req)),
        }
    }

    fn context_url(&self, file_id: &str, select: Option<&[String]>, entity: bool) -> String {
        let sel = select
            .map(|s| format!("({})", s.join(",")))
            .unwrap_or_default();
        format!(
            "{}/$metadata#deviceManagement/groupPolicyUploadedDefinitionFiles('{file_id}')/groupPolicyOperations{sel}{}",
            self.base_url(),
            if entity { "/$entity" } else { "" }
        )
    }

    fn not_found_entity(&self, ids: &RequestIds, req: &IncomingRequest) -> Reply {
        ids.error(
            404,
            "ResourceNotFound",
            &intune_message(
                "Resource not found.",
                &ids.request_id,
                Some(&format!("{}{}", self.inner.origin, req.raw_path)),
            ),
        )
    }

    fn list(&self, ids: &RequestIds, req: &IncomingRequest, file_id: &str) -> Result<Reply, Reply> {
        let q = parse_query(ids, req, &["$select", "$top", "$skiptoken"])?;
        if !self.file_exists(file_id) {
            return Err(self.not_found_entity(ids, req));
        }
        let key = file_id.to_ascii_lowercase();
        let mut state = self.lock();
        let start = state.resume_offset(ids, q.skiptoken.as_deref(), &key)?;
        let page = q.top.unwrap_or(usize::MAX).min(state.page_size).max(1);
        let all = state.operations.get(&key).cloned().unwrap_or_default();
        let (items, next): (&[Value], Option<usize>) =
            if state.leading_empty_page && q.skiptoken.is_none() && !all.is_empty() {
                (&[], Some(0))
            } else {
                let from = start.min(all.len());
                let to = start.saturating_add(page).min(all.len());
                (&all[from..to], (to < all.len()).then_some(to))
            };
        let mut body = Map::new();
        body.insert(
            "@odata.context".into(),
            Value::String(self.context_url(file_id, q.select.as_deref(), false)),
        );
        let values = items.iter().map(|e| project(e, q.select.as_deref()));
        body.insert("value".into(), Value::Array(values.collect()));
        if let Some(offset) = next {
            let link = state.next_link(&self.inner.origin, req, &key, offset);
            body.insert("@odata.nextLink".into(), Value::String(link));
        }
        Ok(Reply::json(200, Value::Object(body)))
    }

    fn get_one(
        &self,
        ids: &RequestIds,
        req: &IncomingRequest,
        file_id: &str,
        id: &str,
    ) -> Result<Reply, Reply> {
        let q = parse_query(ids, req, &["$select"])?;
        let Some(e) = self.entity(file_id, id) else {
            return Err(self.not_found_entity(ids, req));
        };
        let mut out = project(&e, q.select.as_deref());
        if let Some(o) = out.as_object_mut() {
            o.insert(
                "@odata.context".into(),
                Value::String(self.context_url(file_id, q.select.as_deref(), true)),
            );
        }
        Ok(Reply::json(200, out))
    }

    fn create(
        &self,
        ids: &RequestIds,
        req: &IncomingRequest,
        file_id: &str,
    ) -> Result<Reply, Reply> {
        parse_query(ids, req, &[])?;
        let fields = parse_write_body(ids, req)?;
        if !self.file_exists(file_id) {
            return Err(self.not_found_entity(ids, req));
        }
        let id = FakeGraph::new_id();
        let mut state = self.lock();
        let ts = state.next_timestamp();
        let field = |name: &str, default: Value| fields.get(name).cloned().unwrap_or(default);
        let entity = json!({
            "id": id,
            "operationType": field("operationType", json!("none")),
            "operationStatus": field("operationStatus", json!("unknown")),
            "statusDetails": field("statusDetails", Value::Null),
            "lastModifiedDateTime": ts,
        });
        state
            .operations
            .entry(file_id.to_ascii_lowercase())
            .or_default()
            .push(entity.clone());
        let status = state.create_status;
        let location = state.create_location;
        drop(state);
        let mut out = entity;
        out["@odata.context"] = Value::String(self.context_url(file_id, None, true));
        // The seed page says "204 No Content" for this create; 202 is possible too.
        let mut reply = match status {
            202 | 204 => Reply::empty(status),
            _ => Reply::json(status, out),
        };
        // Unverified: whether Intune sends `Location` on this create at all.
        if location {
            reply.headers.push((
                "Location".into(),
                format!("{}{}/{id}", self.inner.origin, req.raw_path),
            ));
        }
        Ok(reply)
    }

    fn patch(
        &self,
        ids: &RequestIds,
        req: &IncomingRequest,
        file_id: &str,
        id: &str,
    ) -> Result<Reply, Reply> {
        parse_query(ids, req, &[])?;
        let fields = parse_write_body(ids, req)?;
        let mut state = self.lock();
        let ts = state.next_timestamp();
        let no_content = state.patch_no_content;
        let Some(entity) = state.operation_mut(file_id, id) else {
            drop(state);
            return Err(self.not_found_entity(ids, req));
        };
        let changes = fields.into_iter().filter(|(k, _)| k != "@odata.type");
        merge_changes(entity, changes, ts);
        let mut out = entity.clone();
        drop(state);
        if no_content {
            return Ok(Reply::empty(204));
        }
        out["@odata.context"] = Value::String(self.context_url(file_id, None, true));
        Ok(Reply::json(200, out))
    }

    fn delete(
        &self,
        ids: &RequestIds,
        req: &IncomingRequest,
        file_id: &str,
        id: &str,
    ) -> Result<Reply, Reply> {
        parse_query(ids, req, &[])?;
        let removed = {
            let mut state = self.lock();
            let list = state.operations.get_mut(&file_id.to_ascii_lowercase());
            list.and_then(|l| {
                let at = l.iter().position(|e| id_eq(e, id))?;
                Some(l.remove(at))
            })
        };
        match removed {
            Some(_) => Ok(Reply::empty(204)),
            None => Err(self.not_found_entity(ids, req)),
        }
    }
}

/// Checks the path's shape (`None`: not an operations route) and its two GUID keys.
fn operation_target<'a>(ids: &RequestIds, segs: &'a [String]) -> Result<Option<Target<'a>>, Reply> {
    let shape_ok = (segs.len() == 4 || segs.len() == 5)
        && segs[0].eq_ignore_ascii_case("deviceManagement")
        && segs[1].eq_ignore_ascii_case("groupPolicyUploadedDefinitionFiles")
        && segs[3].eq_ignore_ascii_case("groupPolicyOperations")
        && segs.iter().all(|s| !s.is_empty());
    if !shape_ok {
        return Ok(None);
    }
    let file_id = segs[2].as_str();
    if !is_guid(file_id) {
        return Err(ids.bad_request(&format!(
            "Invalid key '{file_id}': groupPolicyUploadedDefinitionFile id must be a GUID."
        )));
    }
    let operation_id = segs.get(4).map(String::as_str);
    if let Some(id) = operation_id
        && !is_guid(id)
    {
        return Err(ids.bad_request(&format!(
            "Invalid key '{id}': groupPolicyOperation id must be a GUID."
        )));
    }
    Ok(Some(Target {
        file_id,
        operation_id,
    }))
}

/// Validates a POST/PATCH body; returns its (known) members.
fn parse_write_body(ids: &RequestIds, req: &IncomingRequest) -> Result<Map<String, Value>, Reply> {
    let obj = json_object_body(ids, req)?;
    for (k, v) in &obj {
        let enum_members: Option<&[&str]> = match k.as_str() {
            "operationType" => Some(&OPERATION_TYPES),
            "operationStatus" => Some(&OPERATION_STATUSES),
            _ => None,
        };
        match (k.as_str(), enum_members) {
            ("@odata.type", _) if v.as_str() != Some(ODATA_TYPE) => {
                return Err(ids.bad_request(&format!(
                    "A type named '{v}' could not be resolved by the model; expected '{ODATA_TYPE}'."
                )));
            }
            ("@odata.type", _) => {}
            (_, Some(members)) if !v.as_str().is_some_and(|s| members.contains(&s)) => {
                return Err(ids.bad_request(&format!(
                    "Cannot convert the literal '{v}' to the expected type for '{k}'."
                )));
            }
            (_, Some(_)) => {}
            ("statusDetails", _) if !(v.is_string() || v.is_null()) => {
                return Err(ids.bad_request("'statusDetails' must be a string or null."));
            }
            ("statusDetails", _) => {}
            (other, None) => {
                return Err(ids.bad_request(&format!(
                    "The property '{other}' does not exist on type 'microsoft.graph.groupPolicyOperation' or is not writable. Make sure to only use property names that are defined by the type."
                )));
            }
        }
    }
    Ok(obj)
}
