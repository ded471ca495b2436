//! The web UI in Debian's headless Chromium, driven through chromedriver (WebDriver, with
//! `fantoccini`): a `watch` on a generated estate; the frames, SEA states and paging paths the
//! page shows are those `sim show` prints; a manifest edit appears live as a plan and then as
//! its action's outcome; a screenshot for the README (docs/ui.png).
//!
//! Needs `/usr/bin/chromium` and `/usr/bin/chromedriver` (Debian's `chromium` and
//! `chromium-driver`, which `.ci/run` installs when missing).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::Value;

use crate::api::Api;
use crate::support::{Lab, root};
use crate::watch::Watch;

/// How long the page may take to show something.
const WAIT: Duration = Duration::from_secs(60);

/// chromedriver on a port of its own, stopped when dropped.
struct Driver {
    child: Child,
    port: u16,
}

impl Driver {
    fn start() -> Driver {
        let exe = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
            .unwrap_or_else(|| {
                panic!(
                    "chromedriver is not installed: `apt-get install chromium chromium-driver` (.ci/run installs them)"
                )
            });
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut child = Command::new(exe)
            .arg(format!("--port={port}"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // It says so when it listens.
        let (tx, rx) = std::sync::mpsc::channel();
        let out = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if line.contains("started successfully") {
                    let _ = tx.send(());
                }
            }
        });
        rx.recv_timeout(WAIT).expect("chromedriver started");
        Driver { child, port }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn browser(driver: &Driver, profile: &std::path::Path) -> Client {
    let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .expect("chromium is not installed: `apt-get install chromium chromium-driver` (.ci/run installs them)");
    // The closed network refuses Chromium's own connections: they are turned off.
    let caps = serde_json::json!({
        "goog:chromeOptions": {
            "binary": chromium,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1500,1100",
                format!("--user-data-dir={}", profile.display()),
            ]
        }
    });
    let serde_json::Value::Object(caps) = caps else { unreachable!() };
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("a Chromium session")
}

/// The text of the first element `css` selects, once there is one.
async fn text(c: &Client, css: &str) -> String {
    let el = c.wait().at_most(WAIT).for_element(Locator::Css(css)).await.unwrap_or_else(|e| panic!("{css}: {e}"));
    el.text().await.unwrap()
}

/// Waits until the element `css` selects has text containing `needle`.
async fn until_text(c: &Client, css: &str, needle: &str) -> String {
    let end = std::time::Instant::now() + WAIT;
    loop {
        if let Ok(el) = c.find(Locator::Css(css)).await
            && let Ok(t) = el.text().await
            && t.contains(needle)
        {
            return t;
        }
        assert!(std::time::Instant::now() < end, "{css} never showed {needle:?}");
        // The page updates itself from the event stream; the check is repeated.
        c.wait().at_most(Duration::from_millis(200)).for_element(Locator::Css("#never-there")).await.ok();
    }
}

#[test]
fn the_ui_shows_the_estate_as_sim_show_does_and_follows_an_apply_live() {
    let lab = Lab::generated(3, 24, 11);
    let m = lab.manifests();
    lab.cmd(&["apply", m.to_str().unwrap(), "--yes"]).assert().success();
    // Slow virtual time, so that an action is seen running.
    let child = lab.spawn(&[
        "--sim-speedup",
        "0.5",
        "watch",
        m.to_str().unwrap(),
        "--interval",
        "1h",
        "--listen",
        "127.0.0.1:0",
    ]);
    let mut w = Watch::of(child);
    let api = Api::of(&mut w);
    w.until(&["reconciled"]);
    let report: Value =
        serde_json::from_slice(&lab.cmd(&["sim", "show", "--format", "json"]).output().unwrap().stdout).unwrap();
    let driver = Driver::start();
    let profile = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let c = browser(&driver, profile.path()).await;
        c.goto(&api.url("/")).await.unwrap();
        text(&c, "[data-frame]").await;
        // Every frame, SEA member state and paging path `sim show` reports is on the page.
        let mut seen = (0, 0, 0);
        for f in report["frames"].as_array().unwrap() {
            let name = f["name"].as_str().unwrap();
            text(&c, &format!("[data-frame=\"{name}\"] h2")).await;
            seen.0 += 1;
            if let Some(sea) = f["sea"].as_object() {
                for member in sea["members"].as_array().unwrap() {
                    let css = format!(
                        "[data-sea-member=\"{}/{}\"] [data-test=sea-state]",
                        sea["name"].as_str().unwrap(),
                        member["vios"].as_str().unwrap()
                    );
                    assert_eq!(text(&c, &css).await, member["state"].as_str().unwrap(), "{css}");
                    seen.1 += 1;
                }
            }
            for p in f["partitions"].as_array().unwrap() {
                if let Some(current) = p["paging_current"].as_str() {
                    let css = format!("[data-paging=\"{}\"]", p["name"].as_str().unwrap());
                    let shown = text(&c, &css).await;
                    assert!(shown.starts_with(&format!("pages via {current}")), "{css}: {shown}");
                    seen.2 += 1;
                }
            }
        }
        assert!(seen.0 == 3 && seen.1 >= 3 && seen.2 >= 1, "frames, SEA members, paging paths checked: {seen:?}");
        until_text(&c, "[data-test=last-result]", "converged").await;
        // An edit: the plan appears, its action runs, and its outcome is shown, live.
        let file = lab.manifests().join("f0000.yaml");
        let yaml = std::fs::read_to_string(&file).unwrap();
        let re = regex::Regex::new(r"memory: \{desiredMB: (\d+), maxMB").unwrap();
        let caps = re.captures(&yaml).expect("a partition with dedicated memory");
        let desired: u64 = caps[1].parse().unwrap();
        let edited = yaml.replacen(&caps[0], &caps[0].replace(&desired.to_string(), &(desired - 256).to_string()), 1);
        std::fs::write(&file, edited).unwrap();
        c.goto(&api.url("/#plan")).await.unwrap();
        let row = text(&c, "[data-action-row]").await;
        assert!(row.contains("UpdatePartition"), "{row}");
        text(&c, "[data-test=plan-dag] [data-action]").await;
        until_text(&c, "#event-log", "UpdatePartition").await;
        until_text(&c, "#event-log", "succeeded").await;
        until_text(&c, "[data-test=action-outcome]", "succeeded").await;
        let png = c.screenshot().await.unwrap();
        c.goto(&api.url("/#estate")).await.unwrap();
        text(&c, "[data-frame]").await;
        let estate_png = c.screenshot().await.unwrap();
        let docs = root().join("docs");
        std::fs::create_dir_all(&docs).unwrap();
        // Only written when asked for: a test run leaves the tree as it was.
        if std::env::var_os("POWERPLANE_UPDATE_SCREENSHOTS").is_some() {
            std::fs::write(docs.join("ui-plan.png"), &png).unwrap();
            std::fs::write(docs.join("ui-estate.png"), &estate_png).unwrap();
        }
        assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000, "a real screenshot");
        c.close().await.unwrap();
    });
    assert_eq!(w.terminate().code(), Some(143));
}

/// Invalid manifests under a running `watch` are shown in the page's status line (issue 33):
/// not converged, with the refused revision's first error, and gone once they are fixed.
#[test]
fn the_ui_says_the_manifests_are_invalid_not_converged() {
    let lab = Lab::new();
    crate::watch::init(&lab);
    let m = lab.manifests();
    lab.cmd(&["apply", m.to_str().unwrap(), "--yes"]).assert().success();
    let mut w = Watch::start(&lab, &["--interval", "1h", "--listen", "127.0.0.1:0"]);
    let api = Api::of(&mut w);
    w.until(&["reconciled: the estate matches the manifests"]);
    let driver = Driver::start();
    let profile = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let c = browser(&driver, profile.path()).await;
        c.goto(&api.url("/")).await.unwrap();
        until_text(&c, "[data-test=last-result]", "converged").await;
        lab.edit("p72.yaml", "units: 1.5", "units: lots");
        until_text(&c, "[data-test=last-result]", "notConverged").await;
        let shown = until_text(&c, "[data-test=invalid-manifests]", "p72.yaml:57:").await;
        assert!(shown.contains("invalid manifests") && shown.contains("nothing is applied"), "{shown}");
        lab.edit("p72.yaml", "units: lots", "units: 1.5");
        let result = until_text(&c, "[data-test=last-result]", "converged").await;
        assert_eq!(result, "converged");
        assert!(c.find(Locator::Css("[data-test=invalid-manifests]")).await.is_err(), "the condition is gone");
        c.close().await.unwrap();
    });
    assert_eq!(w.terminate().code(), Some(143));
}
