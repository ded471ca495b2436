//! The API's bodies are their schemas: over a drifted simulated estate with an audit trail (so
//! that the plan, the drift report and the audit pages are not empty), every operation of the
//! OpenAPI document is requested, on its answers and on its refusals, and each JSON body is
//! checked against the schema the document declares for that operation and status, by a JSON
//! Schema validator (draft 2020-12). The document's object schemas are closed, so a body that
//! grew or renamed a field fails here, the other contracts' documents (the estate, the plan,
//! the drift report's objects, the simulator's report, whose schemas schemars derives from the
//! serialized types) as much as the rest, inside as well as at the top. The plan `plan
//! --format json` prints is the API's `PlanDocument` too.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::api::{Api, check};
use crate::support::Lab;
use crate::watch::{Watch, init};

/// Objects inside the bodies that a grown field must break too (JSON pointers, `*` for the
/// first member or item): the other contracts' documents, which have been free-form objects.
const INNER: &[(&str, &[&str])] = &[
    ("/api/v1/estate", &["/estate/frames/*/spec", "/estate/partitions/*/metadata", "/estate/status"]),
    ("/api/v1/desired", &["/partitions/*/spec", "/frames/*"]),
    ("/api/v1/plan", &["/actions/*", "/actions/*/op", "/objects/*", "/objects/*/fields/*", "/summary"]),
    ("/api/v1/drift", &["/objects/*", "/objects/*/fields/*"]),
    ("/api/v1/sim/report", &["/frames/*", "/frames/*/partitions/*", "/frames/*/vios/*"]),
];

/// One answer: status, content type, body.
struct Answer {
    code: u16,
    content_type: String,
    body: String,
}

fn send(req: reqwest::blocking::RequestBuilder) -> Answer {
    let r = req.send().unwrap();
    let content_type = r.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    Answer { code: r.status().as_u16(), content_type, body: r.text().unwrap() }
}

#[test]
fn every_body_the_api_serves_is_the_schema_its_document_declares() {
    let lab = Lab::new();
    init(&lab);
    let m = lab.manifests();
    let m = m.to_str().unwrap();
    // An audit trail, then drift the dry-run watch reports and does not heal.
    lab.cmd(&["apply", m, "--yes"]).assert().success();
    lab.cmd(&["sim", "vios-down", "IBM_MMA_P6_102615A_SOLCHMS05", "lpar_1_solchio05"]).assert().success();
    // The plan contract as the command line prints it, without a controller.
    let cli_plan = lab.cmd(&["plan", m, "--format", "json"]).output().unwrap();
    assert_eq!(cli_plan.status.code(), Some(2), "a drifted estate has a plan");
    let mut w = Watch::start(&lab, &["--interval", "1h", "--listen", "127.0.0.1:0", "--dry-run"]);
    let api = Api::of(&mut w);
    w.until(&["drift reported, not healed (dry run)"]);
    let token = std::fs::read_to_string(lab.state().join("api-token")).unwrap();
    let token = token.trim();
    let http = reqwest::blocking::Client::builder().pool_max_idle_per_host(0).build().unwrap();
    let doc: Value = serde_json::from_str(&send(http.get(api.url("/api/v1/openapi.json"))).body).unwrap();
    assert_closed(&doc);
    // `plan --format json`, without and through the controller, is the API's PlanDocument.
    let through = lab.cmd(&["plan", m, "--refresh=false", "--format", "json"]).output().unwrap();
    let plan_schema = json!({"$ref": "#/components/schemas/PlanDocument"});
    for (what, out) in [("plan --format json", &cli_plan), ("plan --format json through the watch", &through)] {
        let plan = parse(std::str::from_utf8(&out.stdout).unwrap());
        assert!(plan["actions"].as_array().is_some_and(|a| !a.is_empty()), "{what}: no actions: {plan:#}");
        assert!(plan["held"].is_array() && plan.get("scope").is_none(), "{what}: {plan:#}");
        check(&doc, &plan_schema, &plan, what);
        for grown in grown_inside(&plan, &["", "/actions/*", "/actions/*/op", "/objects/*", "/summary"]) {
            assert!(!valid(&doc, &plan_schema, &grown), "{what}: a field its schema does not name is admitted");
        }
    }

    // Each operation, answered and refused: (method, documented path, request path, body).
    let fault = r#"{"fault":"battery","frame":"IBM_MMA_P6_102615A_SOLCHMS05","on":false}"#;
    let calls: Vec<(&str, &str, String, Option<&str>)> = vec![
        ("get", "/api/v1/status", "/api/v1/status".into(), None),
        ("get", "/api/v1/estate", "/api/v1/estate".into(), None),
        ("get", "/api/v1/estate", "/api/v1/estate?refresh=true".into(), None),
        ("get", "/api/v1/desired", "/api/v1/desired".into(), None),
        ("get", "/api/v1/plan", "/api/v1/plan".into(), None),
        ("get", "/api/v1/drift", "/api/v1/drift".into(), None),
        ("get", "/api/v1/audit", "/api/v1/audit".into(), None),
        ("get", "/api/v1/audit", "/api/v1/audit?limit=2".into(), None),
        ("get", "/api/v1/audit", "/api/v1/audit?since=yesterday-ish".into(), None),
        ("get", "/api/v1/audit", "/api/v1/audit?limit=many".into(), None),
        ("get", "/api/v1/audit/verify", "/api/v1/audit/verify".into(), None),
        ("get", "/api/v1/audit/head", "/api/v1/audit/head".into(), None),
        ("get", "/api/v1/sim/report", "/api/v1/sim/report".into(), None),
        ("get", "/api/v1/sim/events", "/api/v1/sim/events".into(), None),
        ("get", "/api/v1/openapi.json", "/api/v1/openapi.json".into(), None),
        ("get", "/", "/".into(), None),
        ("get", "/healthz", "/healthz".into(), None),
        ("get", "/readyz", "/readyz".into(), None),
        ("get", "/metrics", "/metrics".into(), None),
        ("post", "/api/v1/sync", "/api/v1/sync".into(), Some("{}")),
        ("post", "/api/v1/sim/faults", "/api/v1/sim/faults".into(), Some(fault)),
        ("post", "/api/v1/sim/faults", "/api/v1/sim/faults".into(), Some(r#"{"fault":"nonesuch"}"#)),
        (
            "post",
            "/api/v1/sim/faults",
            "/api/v1/sim/faults".into(),
            Some(r#"{"fault":"viosUp","frame":"nonesuch","vios":"x"}"#),
        ),
    ];
    let mut operations = BTreeSet::new();
    let mut statuses = BTreeSet::new();
    for (method, path, url, body) in &calls {
        let op = &doc["paths"][path][method];
        assert!(op.is_object(), "{method} {path} is not in the document");
        operations.insert(format!("{method} {path}"));
        // With the operator token (refresh=true needs one) and without (refusals).
        for with_token in [true, false] {
            let req = match *method {
                "get" => http.get(api.url(url)),
                _ => http.post(api.url(url)).header("content-type", "application/json").body(body.unwrap().to_owned()),
            };
            let answer = send(if with_token { req.bearer_auth(token) } else { req });
            statuses.insert(answer.code);
            check_answer(&doc, op, &format!("{method} {url}"), &answer);
            if let Some((_, inner)) = INNER.iter().find(|(p, _)| p == path)
                && with_token
                && answer.code == 200
            {
                let schema = &op["responses"]["200"]["content"]["application/json"]["schema"];
                for grown in grown_inside(&parse(&answer.body), inner) {
                    assert!(
                        !valid(&doc, schema, &grown),
                        "{method} {url}: a field its schema does not name is admitted"
                    );
                }
            }
        }
    }
    // Every operation of the document was requested.
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            if (method.as_str(), path.as_str()) != ("get", "/api/v1/events") {
                assert!(
                    operations.contains(&format!("{method} {path}")),
                    "{method} {path} is not requested here: add it"
                );
            }
        }
    }
    // A body over the limit, refused before it is read.
    let big = format!("{{\"pad\":\"{}\"}}", "x".repeat(70 * 1024));
    let op = &doc["paths"]["/api/v1/sim/faults"]["post"];
    let too_large = (0..5).find_map(|_| {
        let req = http.post(api.url("/api/v1/sim/faults")).bearer_auth(token).body(big.clone());
        req.send().ok().map(|r| {
            let content_type =
                r.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
            Answer { code: r.status().as_u16(), content_type, body: r.text().unwrap_or_default() }
        })
    });
    let too_large = too_large.expect("the controller answers");
    statuses.insert(too_large.code);
    check_answer(&doc, op, "POST /api/v1/sim/faults (70 KiB)", &too_large);
    // Answers and refusals both: ok, accepted, malformed, no token, conflict, too large.
    for code in [200, 202, 400, 401, 409, 413] {
        assert!(statuses.contains(&code), "no answer {code} was checked: {statuses:?}");
    }
    // Refusals before any handler: a path nobody serves, a foreign Host header.
    let nosuch = send(http.get(api.url("/nosuch")));
    assert_eq!(nosuch.code, 404);
    check(&doc, &json!({"$ref": "#/components/schemas/Problem"}), &parse(&nosuch.body), "GET /nosuch");
    let foreign = send(http.get(api.url("/api/v1/status")).header("host", "evil.example"));
    check_answer(&doc, &doc["paths"]["/api/v1/status"]["get"], "GET /api/v1/status as evil.example", &foreign);
    assert_eq!(foreign.code, 421);

    // The event stream: each event is a LiveEvent.
    let mut events = api.events();
    assert_eq!(send(http.post(api.url("/api/v1/sync")).bearer_auth(token)).code, 202);
    events.until("reconcileEnded", |_| true);
    assert!(events.seen.iter().any(|e| e.kind == "planned"), "{:#?}", events.seen);
    for e in &events.seen {
        assert_eq!(e.data["type"], e.kind.as_str());
        check(&doc, &json!({"$ref": "#/components/schemas/LiveEvent"}), &e.data, &format!("the event {}", e.kind));
    }
    assert_eq!(w.terminate().code(), Some(143));
}

/// `answer` has a status `op` documents, in its media type, and a body its schema admits;
/// a JSON body that grew a field is refused by it.
fn check_answer(doc: &Value, op: &Value, what: &str, answer: &Answer) {
    let response = &op["responses"][answer.code.to_string()];
    assert!(response.is_object(), "{what} answered {}, which its document does not list: {}", answer.code, answer.body);
    let Some((media, spec)) = response["content"].as_object().and_then(|c| c.iter().next()) else { return };
    assert!(answer.content_type.starts_with(media.as_str()), "{what}: {}, documented {media}", answer.content_type);
    if !media.ends_with("json") {
        return;
    }
    let instance = parse(&answer.body);
    if what.ends_with("openapi.json") {
        assert!(instance["openapi"].as_str().is_some_and(|v| v.starts_with("3.1")));
        return;
    }
    let schema = &spec["schema"];
    assert!(schema.is_object(), "{what}: a JSON answer without a schema");
    check(doc, schema, &instance, what);
    let grown = grow(&instance).unwrap_or_else(|| panic!("{what}: no object to add a field to: {instance}"));
    assert!(!valid(doc, schema, &grown), "{what}: a field its schema does not name is admitted:\n{grown:#}");
}

/// `instance` grown by a field at each of `at` (JSON pointers, `*` for the first member of an
/// object or item of an array); each pointer must reach an object.
fn grown_inside(instance: &Value, at: &[&str]) -> Vec<Value> {
    at.iter()
        .map(|pointer| {
            let mut grown = instance.clone();
            let mut target = &mut grown;
            for step in pointer.split('/').skip(1) {
                target = match (step, target) {
                    ("*", Value::Array(items)) => items.first_mut(),
                    ("*", Value::Object(o)) => o.values_mut().next(),
                    (key, Value::Object(o)) => o.get_mut(key),
                    (i, Value::Array(items)) => items.get_mut(i.parse::<usize>().unwrap()),
                    _ => None,
                }
                .unwrap_or_else(|| panic!("{pointer}: nothing at {step} in {instance:#}"));
            }
            let object = target.as_object_mut().unwrap_or_else(|| panic!("{pointer} is not an object: {instance:#}"));
            object.insert("unexpectedField".into(), json!(1));
            grown
        })
        .collect()
}

/// `instance` with a field added to its first object (itself, or an array's first item).
fn grow(instance: &Value) -> Option<Value> {
    let mut grown = instance.clone();
    let target = match &mut grown {
        Value::Array(items) => items.first_mut()?,
        v => v,
    };
    target.as_object_mut()?.insert("unexpectedField".into(), json!(1));
    Some(grown)
}

/// Every object schema of the document names its keys and admits no other (or is a map, whose
/// values have a schema).
fn assert_closed(doc: &Value) {
    for (name, schema) in doc["components"]["schemas"].as_object().unwrap() {
        assert_objects_closed(schema, name);
    }
}

fn assert_objects_closed(schema: &Value, at: &str) {
    match schema {
        Value::Object(o) => {
            if o.get("type") == Some(&json!("object")) || o.contains_key("properties") {
                assert!(
                    o.get("additionalProperties").is_some_and(|a| *a == json!(false) || a.is_object()),
                    "{at}: an object schema that admits any key: {schema:#}"
                );
            }
            assert!(!o.contains_key("allOf"), "{at}: an allOf the document did not merge: {schema:#}");
            for (k, v) in o {
                if k == "properties" {
                    v.as_object().unwrap().iter().for_each(|(f, s)| assert_objects_closed(s, &format!("{at}.{f}")));
                } else {
                    assert_objects_closed(v, &format!("{at}/{k}"));
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|s| assert_objects_closed(s, at)),
        _ => {}
    }
}

fn parse(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

/// Whether `schema`, whose references point into `doc`'s components, admits `instance`.
fn valid(doc: &Value, schema: &Value, instance: &Value) -> bool {
    let root = json!({ "allOf": [schema], "components": doc["components"] });
    jsonschema::options().with_draft(jsonschema::Draft::Draft202012).build(&root).unwrap().is_valid(instance)
}
