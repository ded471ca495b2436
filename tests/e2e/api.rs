//! The controller as a server: while `watch` runs, every read command prints what it prints
//! without one (answered through the API), mutations need the token, and every refusal — no
//! token, a wrong one, a non-loopback address without `--insecure-listen`, a body too large, a
//! client too fast, a command that would change the estate — says why and what to do.

use std::io::{BufRead, BufReader};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::Lab;
use crate::watch::{Watch, init};

/// How long an event may take before the test fails instead of hanging.
const DEADLINE: Duration = Duration::from_secs(60);

/// A client of the controller's API.
pub(crate) struct Api {
    pub(crate) addr: String,
    http: reqwest::blocking::Client,
}

/// One Server-Sent Event: its type and JSON data.
#[derive(Debug)]
pub(crate) struct Event {
    pub(crate) kind: String,
    pub(crate) data: Value,
}

/// The controller's event stream, read on a thread of its own.
pub(crate) struct Events {
    rx: Receiver<Event>,
    pub(crate) seen: Vec<Event>,
}

impl Api {
    pub(crate) fn new(addr: &str) -> Api {
        // A connection per request: one the server closed (after a 413) is never reused.
        let http = reqwest::blocking::Client::builder().timeout(DEADLINE).pool_max_idle_per_host(0).build().unwrap();
        Api { addr: addr.to_owned(), http }
    }

    /// The address a `watch` logged (`listening on ADDR`).
    pub(crate) fn of(w: &mut Watch) -> Api {
        Api::new(w.until(&["listening on"]).trim_start_matches("listening on ").trim())
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// `GET path`: status and body.
    pub(crate) fn get(&self, path: &str) -> (u16, String) {
        let r = self.http.get(self.url(path)).send().unwrap();
        (r.status().as_u16(), r.text().unwrap())
    }

    /// `GET path` with the bearer token.
    pub(crate) fn get_with(&self, path: &str, token: &str) -> (u16, String) {
        let r = self.http.get(self.url(path)).bearer_auth(token).send().unwrap();
        (r.status().as_u16(), r.text().unwrap())
    }

    /// `GET path` with a `Host` header of its own and, if given, the token: status, content
    /// type and body.
    pub(crate) fn get_as(&self, path: &str, host: &str, token: Option<&str>) -> (u16, String, String) {
        let mut req = self.http.get(self.url(path)).header("host", host);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let r = req.send().unwrap();
        let ct = r.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
        (r.status().as_u16(), ct, r.text().unwrap())
    }

    /// `POST path` with `body` and, if given, the token.
    pub(crate) fn post(&self, path: &str, token: Option<&str>, body: String) -> (u16, String) {
        self.try_post(path, token, body).expect("the controller answers")
    }

    /// [`Api::post`], `None` when the connection broke.
    pub(crate) fn try_post(&self, path: &str, token: Option<&str>, body: String) -> Option<(u16, String)> {
        let mut req = self.http.post(self.url(path)).header("content-type", "application/json").body(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let r = req.send().ok()?;
        Some((r.status().as_u16(), r.text().ok()?))
    }

    /// Follows `GET /api/v1/events` from now on.
    pub(crate) fn events(&self) -> Events {
        let client = reqwest::blocking::Client::builder().timeout(None).build().unwrap();
        let response = client.get(self.url("/api/v1/events")).send().unwrap();
        assert_eq!(response.status().as_u16(), 200);
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            // The stream's framing (text/event-stream): `event:` and `data:` lines, a blank
            // line ends an event.
            let (mut kind, mut data) = (String::new(), String::new());
            for line in BufReader::new(response).lines().map_while(Result::ok) {
                if let Some(k) = line.strip_prefix("event:") {
                    kind = k.trim().to_owned();
                } else if let Some(d) = line.strip_prefix("data:") {
                    data.push_str(d.trim_start());
                } else if line.is_empty() && !data.is_empty() {
                    let e = Event { kind: std::mem::take(&mut kind), data: serde_json::from_str(&data).unwrap() };
                    data.clear();
                    if tx.send(e).is_err() {
                        break;
                    }
                }
            }
        });
        Events { rx, seen: Vec::new() }
    }
}

impl Events {
    /// The next event of type `kind` for which `pred` holds, within [`DEADLINE`].
    pub(crate) fn until(&mut self, kind: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let end = Instant::now() + DEADLINE;
        loop {
            match self.rx.recv_timeout(end.saturating_duration_since(Instant::now())) {
                Ok(e) => {
                    let hit = e.kind == kind && pred(&e.data);
                    let data = e.data.clone();
                    self.seen.push(e);
                    if hit {
                        return data;
                    }
                }
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {
                    panic!("no `{kind}` event as expected within {DEADLINE:?}; the stream sent:\n{:#?}", self.seen)
                }
            }
        }
    }
}

fn token(lab: &Lab) -> String {
    std::fs::read_to_string(lab.state().join("api-token")).expect("the watch wrote STATE/api-token")
}

/// What a command printed and how it exited.
#[derive(Debug, PartialEq)]
struct Ran {
    code: i32,
    stdout: String,
}

fn run(lab: &Lab, args: &[&str]) -> (Ran, String) {
    let out = lab.cmd(args).output().unwrap();
    let ran = Ran { code: out.status.code().unwrap(), stdout: String::from_utf8(out.stdout).unwrap() };
    (ran, String::from_utf8(out.stderr).unwrap())
}

/// A JSON document with the fields that change with every observation (when it was made, the
/// simulator's clock) left out.
fn timeless(text: &str) -> Value {
    let mut v: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
    if let Some(o) = v.as_object_mut() {
        o.remove("virtual_seconds");
        if let Some(s) = o.get_mut("since_last_observation").and_then(Value::as_object_mut) {
            s.remove("at");
        }
    }
    v
}

#[test]
fn read_commands_through_a_running_watch_print_what_they_print_without_one() {
    let lab = Lab::new();
    init(&lab);
    let m = lab.manifests();
    let m = m.to_str().unwrap();
    lab.cmd(&["apply", m, "--yes"]).assert().success();
    // A drifted estate, so that `drift` and `plan` have something to say.
    lab.cmd(&["sim", "vios-down", "IBM_MMA_P6_102615A_SOLCHMS05", "lpar_1_solchio05"]).assert().success();
    lab.cmd(&["plan", m]).assert().code(2);
    let commands: Vec<Vec<&str>> = vec![
        vec!["plan", m, "--refresh=false"],
        vec!["plan", m, "--refresh=false", "--format", "json"],
        vec!["drift", m, "--format", "json"],
        vec!["audit"],
        vec!["audit", "--json"],
        vec!["audit", "verify"],
        vec!["audit", "verify", "--json"],
        vec!["audit", "head"],
        vec!["sim", "show"],
        vec!["sim", "show", "--format", "json"],
        vec!["sim", "events"],
    ];
    let direct: Vec<Ran> = commands.iter().map(|c| run(&lab, c).0).collect();
    // Without a controller, `status` says so: nothing reconciles the estate.
    let (idle, _) = run(&lab, &["status"]);
    assert_eq!(idle.code, 2);
    assert!(idle.stdout.contains("controller: none — no `watch` holds"), "{}", idle.stdout);
    // A dry-run watch: it observes and plans, never heals, so the estate stays as it was.
    let mut w = Watch::start(&lab, &["--interval", "1h", "--listen", "127.0.0.1:0", "--dry-run"]);
    let api = Api::of(&mut w);
    w.until(&["drift reported, not healed (dry run)"]);
    for (c, before) in commands.iter().zip(&direct) {
        let (now, stderr) = run(&lab, c);
        if c.contains(&"json") && !c.contains(&"audit") {
            assert_eq!(now.code, before.code, "{c:?}: {stderr}");
            assert_eq!(timeless(&now.stdout), timeless(&before.stdout), "{c:?} through the watch");
        } else if c[0] == "sim" && c[1] == "show" {
            let strip = |s: &str| s.lines().filter(|l| !l.contains("virtual time")).collect::<Vec<_>>().join("\n");
            assert_eq!((now.code, strip(&now.stdout)), (before.code, strip(&before.stdout)), "{c:?}: {stderr}");
        } else {
            assert_eq!(now, *before, "{c:?} through the watch: {stderr}");
        }
        if c[0] != "audit" {
            assert!(
                stderr.contains(&format!("forwarded to the running `watch` at {}", api.addr)),
                "{c:?} was answered by the watch: {stderr}"
            );
        }
    }
    // `status` through the watch: a dry run reports; the VIOS-down drift is not healed.
    let (live, stderr) = run(&lab, &["status"]);
    assert_eq!(live.code, 2, "{stderr}");
    assert!(live.stdout.contains("(dry run: reports, never applies)"), "{}", live.stdout);
    assert!(live.stdout.contains("last reconcile: reported (dry run)"), "{}", live.stdout);
    let (json, _) = run(&lab, &["status", "--format", "json"]);
    let doc: Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(doc["dryRun"], true);
    assert_eq!(doc["lastObservation"]["ok"], true);
    assert_eq!(doc, serde_json::from_str::<Value>(&api.get("/api/v1/status").1).unwrap());
    // Commands that would change the estate are refused, with what to do instead.
    let (refused, stderr) = run(&lab, &["apply", m, "--yes"]);
    assert_eq!(refused.code, 1);
    assert!(stderr.contains("in use by another powerplane process"), "{stderr}");
    assert!(
        stderr.contains(&format!("serves its API at {}", api.addr)) && stderr.contains("edit the manifests"),
        "{stderr}"
    );
    let (refused, stderr) = run(&lab, &["plan", m]);
    assert_eq!(refused.code, 1, "a refreshing plan stores an observation: refused");
    assert!(stderr.contains("`plan --refresh=false`"), "{stderr}");
    assert_eq!(w.terminate().code(), Some(143));
    lab.cmd(&["audit", "verify"]).assert().success();
}

#[test]
fn mutations_need_the_token_and_each_refusal_says_why() {
    let lab = Lab::new();
    init(&lab);
    let mut w = Watch::start(&lab, &["--interval", "1h", "--listen", "127.0.0.1:0"]);
    let api = Api::of(&mut w);
    w.until(&["reconciled"]);
    let token = token(&lab);
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(lab.state().join("api-token")).unwrap().permissions(),
    );
    assert_eq!(mode & 0o777, 0o600, "the token is the owner's only");
    assert_eq!(token.trim().len(), 64);
    // Reads on loopback need no token; every mutation does.
    assert_eq!(api.get("/api/v1/status").0, 200);
    let (code, body) = api.post("/api/v1/sync", None, "{}".into());
    assert_eq!(code, 401, "{body}");
    assert!(body.contains("no bearer token") && body.contains("api-token"), "{body}");
    let (code, body) = api.post("/api/v1/sync", Some("0000"), "{}".into());
    assert_eq!(code, 401, "{body}");
    assert!(body.contains("a wrong bearer token"), "{body}");
    let fault = r#"{"fault":"rmc","name":"lpar_2_solchio06","up":false}"#;
    assert_eq!(api.post("/api/v1/sim/faults", None, fault.into()).0, 401, "a fault is a mutation");
    let mut events = api.events();
    let (code, body) = api.post("/api/v1/sync", Some(token.trim()), "{}".into());
    assert_eq!(code, 202, "{body}");
    events.until("reconcileStarted", |d| d["reason"] == "sync requested");
    events.until("reconcileEnded", |_| true);
    // A body over 64 KiB, malformed JSON, an unknown path.
    // The server answers 413 as soon as it reads the length and may close the connection
    // while the client still writes the body: a broken send is tried again.
    let big = format!("{{\"pad\":\"{}\"}}", "x".repeat(70 * 1024));
    let code = (0..5).find_map(|_| api.try_post("/api/v1/sim/faults", Some(token.trim()), big.clone())).map(|r| r.0);
    assert_eq!(code, Some(413));
    let (code, body) = api.post("/api/v1/sim/faults", Some(token.trim()), "{\"fault\":".into());
    assert_eq!(code, 400, "{body}");
    let (code, body) = api.get("/api/v1/nosuch");
    assert_eq!(code, 404);
    assert!(body.contains("/api/v1/status"), "names what exists: {body}");
    // The CLI reads the token itself; without it, it is refused and told why.
    lab.cmd(&["sim", "rmc", "lpar_2_solchio06", "off"]).assert().success();
    std::fs::rename(lab.state().join("api-token"), lab.state().join("api-token.away")).unwrap();
    let out = lab.cmd(&["sim", "rmc", "lpar_2_solchio06", "on"]).assert().code(1).get_output().stderr.clone();
    let stderr = String::from_utf8_lossy(&out);
    assert!(stderr.contains("401") && stderr.contains("api-token"), "{stderr}");
    std::fs::rename(lab.state().join("api-token.away"), lab.state().join("api-token")).unwrap();
    assert_eq!(w.terminate().code(), Some(143));
}

#[test]
fn a_client_over_the_rate_limit_is_answered_429() {
    let lab = Lab::new();
    init(&lab);
    let mut w = Watch::start(&lab, &["--interval", "1h", "--listen", "127.0.0.1:0", "--api-rate", "1"]);
    let api = Api::of(&mut w);
    // A burst of twice the rate passes; the rest within the second are refused.
    let answers: Vec<(u16, String)> = (0..6).map(|_| api.get("/healthz")).collect();
    let codes: Vec<u16> = answers.iter().map(|a| a.0).collect();
    assert_eq!(&codes[..2], &[200, 200], "{codes:?}");
    let refused = answers.iter().find(|a| a.0 == 429).unwrap_or_else(|| panic!("no 429 in {codes:?}"));
    assert!(refused.1.contains("too many requests from this address: retry in"), "{}", refused.1);
    assert_eq!(w.terminate().code(), Some(143));
}

#[test]
fn a_network_address_needs_insecure_listen_and_then_the_token_for_every_read() {
    let lab = Lab::new();
    init(&lab);
    let m = lab.manifests();
    let out =
        lab.cmd(&["watch", m.to_str().unwrap(), "--listen", "0.0.0.0:0"]).assert().code(1).get_output().stderr.clone();
    let stderr = String::from_utf8_lossy(&out);
    assert!(stderr.contains("is not a loopback address") && stderr.contains("--insecure-listen"), "{stderr}");
    let mut w = Watch::start(&lab, &["--interval", "1h", "--listen", "0.0.0.0:0", "--insecure-listen"]);
    let port = Api::of(&mut w).addr.rsplit(':').next().unwrap().to_owned();
    let api = Api::new(&format!("127.0.0.1:{port}"));
    w.until(&["reconciled"]);
    assert_eq!(api.get("/healthz").0, 200, "health needs no token");
    let (code, body) = api.get("/api/v1/status");
    assert_eq!(code, 401, "{body}");
    assert_eq!(api.get_with("/api/v1/status", token(&lab).trim()).0, 200);
    // The CLI sends the token for reads too.
    let out = lab.cmd(&["status", "--format", "json"]).output().unwrap();
    assert_ne!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(doc["manifests"].as_str().unwrap().ends_with("/m"), "{doc}");
    assert_eq!(w.terminate().code(), Some(143));
}

/// Issue 33 item 12: the API answers only requests that name it in their `Host` header (a page
/// of another site reaching 127.0.0.1 through DNS rebinding sends its own name), with an RFC
/// 9457 problem otherwise; a read that makes the backend observe needs a token; the read-only
/// token reads and is refused every mutation.
#[test]
fn the_api_answers_only_its_own_host_and_the_read_only_token_only_reads() {
    let lab = Lab::new();
    init(&lab);
    let mut w =
        Watch::start(&lab, &["--interval", "1h", "--listen", "127.0.0.1:0", "--api-host", "powerplane.example"]);
    let api = Api::of(&mut w);
    w.until(&["reconciled"]);
    let port = api.addr.rsplit(':').next().unwrap().to_owned();
    // Another site's name, with the port or without: 421 with a problem document.
    for host in [format!("rebind.example:{port}"), "rebind.example".into(), format!("127.0.0.2:{port}")] {
        let (code, ct, body) = api.get_as("/api/v1/status", &host, None);
        assert_eq!(code, 421, "{host}: {body}");
        assert!(ct.starts_with("application/problem+json"), "{ct}");
        let doc: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(doc["status"], 421);
        assert_eq!(doc["title"], "Misdirected Request");
        let detail = doc["detail"].as_str().unwrap();
        assert!(detail.contains(&format!("`{host}`")) && detail.contains("DNS rebinding"), "{detail}");
        assert!(detail.contains("--api-host NAME") && detail.contains(&format!("localhost:{port}")), "{detail}");
    }
    // Its own names, and the --api-host one with the port or without.
    for host in [
        api.addr.clone(),
        format!("localhost:{port}"),
        format!("LOCALHOST:{port}"),
        format!("[::1]:{port}"),
        "powerplane.example".into(),
        format!("powerplane.example:{port}"),
    ] {
        assert_eq!(api.get_as("/api/v1/status", &host, None).0, 200, "{host}");
    }
    // No Host header at all (HTTP/1.0): 400.
    let mut s = std::net::TcpStream::connect(&api.addr).unwrap();
    std::io::Write::write_all(&mut s, b"GET /api/v1/status HTTP/1.0\r\n\r\n").unwrap();
    let mut answer = String::new();
    std::io::Read::read_to_string(&mut s, &mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.0 400") || answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("no Host header"), "{answer}");

    // Two tokens, both the owner's only, distinct.
    let operator = token(&lab).trim().to_owned();
    let path = lab.state().join("api-token-read");
    let read = std::fs::read_to_string(&path).expect("the watch wrote STATE/api-token-read").trim().to_owned();
    let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&path).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);
    assert_eq!(read.len(), 64);
    assert_ne!(read, operator);
    // The stored observation is a plain read; observing again needs a token, either one.
    assert_eq!(api.get("/api/v1/estate").0, 200);
    let (code, body) = api.get("/api/v1/estate?refresh=true");
    assert_eq!(code, 401, "{body}");
    assert!(body.contains("no bearer token") && body.contains("api-token-read") && body.contains("observe"), "{body}");
    let (code, body) = api.get_with("/api/v1/estate?refresh=true", &read);
    assert_eq!(code, 200, "{body}");
    assert!(serde_json::from_str::<Value>(&body).unwrap()["estate"].is_object());
    assert_eq!(api.get_with("/api/v1/estate?refresh=true", &operator).0, 200);
    // The read-only token reads, and is refused every mutation with 403.
    assert_eq!(api.get_with("/api/v1/status", &read).0, 200);
    let (code, body) = api.post("/api/v1/sync", Some(&read), "{}".into());
    assert_eq!(code, 403, "{body}");
    let doc: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(doc["status"], 403);
    assert!(doc["detail"].as_str().unwrap().contains("needs the operator token"), "{body}");
    let fault = r#"{"fault":"rmc","name":"lpar_2_solchio06","up":false}"#;
    assert_eq!(api.post("/api/v1/sim/faults", Some(&read), fault.into()).0, 403);
    assert_eq!(api.post("/api/v1/sync", Some(&operator), "{}".into()).0, 202);
    assert_eq!(w.terminate().code(), Some(143));
}

/// The server answers every operation of its OpenAPI document with a documented status and a
/// body its schema admits; every endpoint the server routes is in the document.
#[test]
fn the_server_keeps_its_openapi_contract() {
    let lab = Lab::new();
    init(&lab);
    let mut w = Watch::start(&lab, &["--interval", "1h", "--listen", "127.0.0.1:0"]);
    let api = Api::of(&mut w);
    w.until(&["reconciled"]);
    let (code, text) = api.get("/api/v1/openapi.json");
    assert_eq!(code, 200);
    let doc: Value = serde_json::from_str(&text).unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{}", doc["openapi"]);
    let token = token(&lab);
    let mut checked = 0;
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            let (code, body, content_type) = match (method.as_str(), path.as_str()) {
                ("get", "/api/v1/events") => {
                    // A stream: its events are checked against LiveEvent below.
                    continue;
                }
                ("get", p) => {
                    let r = reqwest::blocking::get(api.url(p)).unwrap();
                    let ct = r.headers()["content-type"].to_str().unwrap().to_owned();
                    (r.status().as_u16(), r.text().unwrap(), ct)
                }
                ("post", "/api/v1/sync") => {
                    let (c, b) = api.post(path, Some(token.trim()), "{}".into());
                    (c, b, "application/json".into())
                }
                ("post", "/api/v1/sim/faults") => {
                    let fault = r#"{"fault":"battery","frame":"p72","on":false}"#;
                    let (c, b) = api.post(path, Some(token.trim()), fault.into());
                    (c, b, "application/json".into())
                }
                (m, p) => panic!("the contract test does not know how to call {m} {p}: add it"),
            };
            let response = &op["responses"][code.to_string()];
            assert!(response.is_object(), "{method} {path} answered {code}, which its document does not list: {body}");
            let Some((media, spec)) = response["content"].as_object().and_then(|c| c.iter().next()) else { continue };
            assert!(content_type.starts_with(media.as_str()), "{method} {path}: {content_type}, documented {media}");
            // Only the document itself is served without a schema.
            let json = media == "application/json" || media == "application/problem+json";
            assert!(spec["schema"].is_object() || path == "/api/v1/openapi.json" || !json, "{method} {path}");
            if json && spec["schema"].is_object() {
                let schema = spec["schema"].clone();
                let instance: Value = serde_json::from_str(&body).unwrap();
                check(&doc, &schema, &instance, &format!("{method} {path}"));
            }
            checked += 1;
        }
    }
    assert!(checked >= 16, "{checked} operations checked");
    // An event off the stream is a LiveEvent.
    let mut events = api.events();
    api.post("/api/v1/sync", Some(token.trim()), "{}".into());
    let started = events.until("reconcileStarted", |_| true);
    check(&doc, &serde_json::json!({"$ref": "#/components/schemas/LiveEvent"}), &started, "an event");
    // Every path the server routes is documented: its 404 lists them.
    let (_, listing) = api.get("/nosuch");
    let listing: Value = serde_json::from_str(&listing).unwrap();
    for p in listing["detail"].as_str().unwrap().split(": see ").nth(1).unwrap().split(", ") {
        let p = p.trim_start_matches("POST ").split(' ').next().unwrap().trim_end_matches("/...");
        assert!(
            doc["paths"].as_object().unwrap().keys().any(|k| k == p || (p.len() > 1 && k.starts_with(p))),
            "{p} is served but not documented"
        );
    }
    assert_eq!(w.terminate().code(), Some(143));
}

/// `instance` is admitted by `schema`, whose references point into `doc`'s components.
pub(crate) fn check(doc: &Value, schema: &Value, instance: &Value, what: &str) {
    let root = serde_json::json!({ "allOf": [schema], "components": doc["components"] });
    let validator = jsonschema::options().with_draft(jsonschema::Draft::Draft202012).build(&root).unwrap();
    let errors: Vec<String> =
        validator.iter_errors(instance).map(|e| format!("{} at {}", e, e.instance_path)).collect();
    assert!(errors.is_empty(), "{what}: the answer breaks its schema:\n{}\n{instance:#}", errors.join("\n"));
}
