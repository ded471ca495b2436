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
pub async fn bind(addr: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr).await.map_err(|e| {
        let hint = if e.kind() == std::io::ErrorKind::AddrInUse {
            "another process listens there (another `watch`?); choose another address with --listen ADDR, or --no-listen"
        } else {
            "choose another address with --listen ADDR, or --no-listen"
        };
        anyhow::anyhow!("cannot listen on {addr}: {e}; {hint}")
    })
}

/// Accepts connections forever.
pub async fn serve(listener: TcpListener, metrics: Arc<Metrics>, sim: Option<Simulator>) {
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

async fn respond(method: &str, target: &str, metrics: &Metrics, sim: &Option<Simulator>) -> (&'static str, String) {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let param = |k: &str| {
        query.split('&').find_map(|kv| kv.strip_prefix(k).and_then(|r| r.strip_prefix('='))).map(percent_decode)
    };
    match (method, path) {
        ("GET", "/metrics") => ("200 OK", metrics.render()),
        ("GET", "/healthz") => ("200 OK", "ok\n".into()),
        ("POST", "/sim/vios-down" | "/sim/vios-up") => {
            let Some(sim) = sim else {
                return ("404 Not Found", "this controller runs against HMCs, not the simulator\n".into());
            };
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

/// `%XX` escapes decoded (names may hold `&`, `?`, `#` or `%`).
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match (b[i], b.get(i + 1).copied().and_then(hex), b.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Escapes what is not a letter, digit or `-_.:` as `%XX`.
pub(crate) fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|c| match c {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b':' => (c as char).to_string(),
            _ => format!("%{c:02X}"),
        })
        .collect()
}

/// Sends `POST path?frame=F&vios=V` to a running `watch`; returns the status line and body.
pub(crate) fn post_vios(addr: &str, path: &str, frame: &str, vios: &str) -> std::io::Result<(String, String)> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr)?;
    s.set_read_timeout(Some(std::time::Duration::from_secs(30)))?;
    let target = format!("{path}?frame={}&vios={}", percent_encode(frame), percent_encode(vios));
    write!(s, "POST {target} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")?;
    let mut response = String::new();
    s.read_to_string(&mut response)?;
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    Ok((head.lines().next().unwrap_or("").to_owned(), body.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_survive_the_query_string() {
        for name in ["p72vio1", "IBM_MMA_P6:102615A", "a&b?c#d%e+f"] {
            assert_eq!(percent_decode(&percent_encode(name)), name);
        }
        assert_eq!(percent_decode("a%2"), "a%2", "a broken escape is kept as it is");
    }
}
