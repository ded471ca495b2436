//! The controller's HTTP endpoint (`--listen`, default 127.0.0.1:9464): `GET /metrics`
//! (Prometheus), `GET /healthz`, and, because the running controller holds the state directory,
//! the simulator's fault controls (`POST /sim/vios-down?frame=F&vios=V`, `/sim/vios-up`) so an
//! operator can still disturb the simulated estate while the loop runs.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::metrics::Metrics;
use crate::backend::sim::Simulator;

/// Serves until the task is dropped; returns the bound address first.
pub async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await
}

/// Accepts connections forever.
pub async fn serve(listener: TcpListener, metrics: Arc<Metrics>, sim: Simulator) {
    loop {
        let Ok((mut stream, _)) = listener.accept().await else { continue };
        let (metrics, sim) = (metrics.clone(), sim.clone());
        tokio::spawn(async move {
            let mut buf = vec![0u8; 8192];
            let mut len = 0;
            while len < buf.len() {
                match stream.read(&mut buf[len..]).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => len += n,
                }
                if buf[..len].windows(4).any(|w| w == b"\r\n\r\n") {
                    break;
                }
            }
            let request = String::from_utf8_lossy(&buf[..len]);
            let line = request.lines().next().unwrap_or("");
            let mut parts = line.split_whitespace();
            let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
            let (status, body) = respond(method, target, &metrics, &sim).await;
            let response = format!(
                "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(response.as_bytes()).await;
            let _ = stream.shutdown().await;
        });
    }
}

async fn respond(method: &str, target: &str, metrics: &Metrics, sim: &Simulator) -> (&'static str, String) {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let param = |k: &str| {
        query.split('&').find_map(|kv| kv.strip_prefix(k).and_then(|r| r.strip_prefix('='))).map(str::to_owned)
    };
    match (method, path) {
        ("GET", "/metrics") => ("200 OK", metrics.render()),
        ("GET", "/healthz") => ("200 OK", "ok\n".into()),
        ("POST", "/sim/vios-down" | "/sim/vios-up") => {
            let (Some(f), Some(v)) = (param("frame"), param("vios")) else {
                return ("400 Bad Request", "give ?frame=FRAME&vios=VIOS\n".into());
            };
            let (Ok(f), Ok(v)) = (f.parse(), v.parse()) else { return ("400 Bad Request", "invalid name\n".into()) };
            let r = if path.ends_with("down") { sim.vios_down(&f, &v).await } else { sim.vios_up(&f, &v).await };
            match r {
                Ok(events) => ("200 OK", events.join("\n") + "\n"),
                Err(e) => ("409 Conflict", format!("{e}\n")),
            }
        }
        _ => ("404 Not Found", "GET /metrics, GET /healthz, POST /sim/vios-down|vios-up?frame=F&vios=V\n".into()),
    }
}
