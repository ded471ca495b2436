//! The API under load (issue 17's goal: with `watch` reconciling a 25k-partition estate, at
//! least 1,000 requests/s of `/api/v1/status` and 50/s of `/api/v1/estate` from a second
//! process, without slowing a scoped replan beyond 20 ms). The controller is the real binary
//! on a generated estate of 1,000 frames and 25,000 partitions; this process is the client.
//! `scoped_replan_under_load`: manifest edits planned in their scope while clients read the
//! status (1,000/s) and the estate (50/s), the loop's own figure ("planned the change in its scope", from the
//! file event to the ready plan) read off its log.

#[path = "../../examples/estate_gen/mod.rs"]
mod estate_gen;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

/// Requests in flight at once per batch.
const STATUS_CONCURRENCY: usize = 32;
const ESTATE_CONCURRENCY: usize = 4;

struct Controller {
    child: Child,
    addr: String,
    lines: std::sync::mpsc::Receiver<String>,
    _dir: tempfile::TempDir,
    manifests: std::path::PathBuf,
}

impl Drop for Controller {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let _ = self.child.wait();
    }
}

impl Controller {
    /// Reads the log until a line has one of `ends`.
    fn until_any(&self, ends: &[&str], within: Duration) -> String {
        self.until_line(|l| ends.iter().any(|n| l.contains(n)), within, ends)
    }

    /// Reads the log until a line has every needle.
    fn until(&self, needles: &[&str], within: Duration) -> String {
        self.until_line(|l| needles.iter().all(|n| l.contains(n)), within, needles)
    }

    fn until_line(&self, hit: impl Fn(&str) -> bool, within: Duration, what: &[&str]) -> String {
        let end = Instant::now() + within;
        loop {
            let line = self
                .lines
                .recv_timeout(end.saturating_duration_since(Instant::now()))
                .unwrap_or_else(|e| panic!("the controller logged no line as expected ({what:?}): {e:?}"));
            if hit(&line) {
                return line;
            }
        }
    }
}

fn start() -> Controller {
    let dir = tempfile::tempdir().unwrap();
    let g = estate_gen::generate(1_000, 25_000, 42);
    let (inv, manifests, state) = (dir.path().join("inventory"), dir.path().join("m"), dir.path().join("state"));
    std::fs::create_dir_all(&inv).unwrap();
    std::fs::create_dir_all(&manifests).unwrap();
    for (n, t) in &g.inventory {
        std::fs::write(inv.join(n), t).unwrap();
    }
    for (n, t) in &g.manifests {
        std::fs::write(manifests.join(n), t).unwrap();
    }
    let bin = env!("CARGO_BIN_EXE_powerplane");
    let init = Command::new(bin)
        .arg("--state-dir")
        .arg(&state)
        .arg("--inventory")
        .arg(&inv)
        .args(["sim", "init"])
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(init.success());
    // A dry run: the loop observes, plans and reports the brownfield drift at every change,
    // as a controller does that reconciles; the clients' figure is what matters here. The
    // API's rate limit is raised: one client address makes every request.
    let mut child = Command::new(bin)
        .arg("--state-dir")
        .arg(&state)
        .arg("watch")
        .arg(&manifests)
        .args(["--dry-run", "--interval", "1h", "--listen", "127.0.0.1:0", "--api-rate", "1000000"])
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, lines) = std::sync::mpsc::channel();
    let err = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for l in BufReader::new(err).lines().map_while(Result::ok) {
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    let mut c = Controller { child, addr: String::new(), lines, _dir: dir, manifests };
    c.addr = c.until(&["listening on"], Duration::from_secs(120)).trim_start_matches("listening on ").trim().to_owned();
    c.until(&["drift reported, not healed (dry run)"], Duration::from_secs(600));
    c
}

async fn get(http: &reqwest::Client, url: &str) -> usize {
    let r = http.get(url).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200, "{url}");
    r.bytes().await.unwrap().len()
}

fn bench(c: &mut Criterion) {
    let controller = start();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let http = reqwest::Client::builder().pool_max_idle_per_host(64).build().unwrap();
    let status = format!("http://{}/api/v1/status", controller.addr);
    let estate = format!("http://{}/api/v1/estate", controller.addr);
    let size = rt.block_on(get(&http, &estate));
    eprintln!("api_load: /api/v1/estate is {:.1} MB", size as f64 / 1e6);
    let mut g = c.benchmark_group("api_load");
    g.sample_size(20).measurement_time(Duration::from_secs(15));
    g.throughput(Throughput::Elements(STATUS_CONCURRENCY as u64));
    g.bench_function("status", |b| {
        b.iter(|| {
            rt.block_on(async {
                let all = (0..STATUS_CONCURRENCY).map(|_| get(&http, &status));
                futures_util::future::join_all(all).await
            })
        })
    });
    g.throughput(Throughput::Elements(ESTATE_CONCURRENCY as u64));
    g.bench_function("estate", |b| {
        b.iter(|| {
            rt.block_on(async {
                let all = (0..ESTATE_CONCURRENCY).map(|_| get(&http, &estate));
                futures_util::future::join_all(all).await
            })
        })
    });
    g.finish();
    // Scoped replans while the goal's load is served: 1,000 status and 50 estate requests a
    // second, paced (each request its own task, so a slow one does not hold the pace back).
    let stop = Arc::new(AtomicBool::new(false));
    let served = Arc::new(AtomicU64::new(0));
    let paced = |url: String, every: Duration| {
        let (stop, served, http) = (stop.clone(), served.clone(), http.clone());
        rt.spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            while !stop.load(Ordering::Relaxed) {
                tick.tick().await;
                let (http, url, served) = (http.clone(), url.clone(), served.clone());
                tokio::spawn(async move {
                    get(&http, &url).await;
                    served.fetch_add(1, Ordering::Relaxed);
                });
            }
        })
    };
    let loads = [paced(status.clone(), Duration::from_millis(1)), paced(estate.clone(), Duration::from_millis(20))];
    let file = controller.manifests.join("f0000.yaml");
    let original = std::fs::read_to_string(&file).unwrap();
    let re = regex::Regex::new(r"memory: \{desiredMB: (\d+), maxMB").unwrap();
    let caps = re.captures(&original).unwrap();
    let desired: u64 = caps[1].parse().unwrap();
    let (mut ms, mut full) = (Vec::new(), 0);
    let started = Instant::now();
    for i in 0..20u64 {
        let edited = caps[0].replace(&desired.to_string(), &(desired - 256 * (i % 2 + 1)).to_string());
        std::fs::write(&file, original.replacen(&caps[0], &edited, 1)).unwrap();
        // A scoped plan logs its time; a change the loop plans in full (its last plan had
        // errors, so the scope cannot be trusted) is counted apart.
        let mut scoped = None;
        loop {
            let line = controller.until_any(
                &["planned the change in its scope", "drift reported, not healed", "reconciled:"],
                Duration::from_secs(300),
            );
            match line.split("ms=").nth(1) {
                Some(v) if line.contains("in its scope") => {
                    scoped = v.split_whitespace().next().and_then(|v| v.parse::<f64>().ok());
                }
                _ => break,
            }
        }
        match scoped {
            Some(v) => ms.push(v),
            None => full += 1,
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    for l in loads {
        rt.block_on(l).unwrap();
    }
    ms.sort_by(f64::total_cmp);
    let figure = match ms.len() {
        0 => "none planned in scope".to_owned(),
        n => format!("{n} planned in scope: median {:.1} ms, max {:.1} ms (budget 20 ms)", ms[n / 2], ms[n - 1]),
    };
    println!(
        "api_load/scoped_replan_under_load: 20 edits, {figure}; {full} planned in full; while serving {:.0} requests/s (paced: 1,000 status + 50 estate a second)",
        served.load(Ordering::Relaxed) as f64 / elapsed
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
