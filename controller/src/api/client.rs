//! The CLI's side of the API: while a `watch` holds the state directory (its lock record names
//! where it listens), read commands and the simulator's faults are answered through it, with
//! the token from `STATE/api-token`.

use std::path::Path;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::token::{Token, TokenError};
use crate::store::StoreError;

/// A running controller's API.
pub struct Controller {
    addr: String,
    token: Option<Token>,
    http: reqwest::Client,
}

/// Why a request to the controller failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Nothing answered, or the connection broke.
    #[error(
        "the state directory is held by a running `watch` serving {addr}, which did not answer ({detail}); retry, or stop the watch and run the command again"
    )]
    Unreachable {
        /// Where it listens.
        addr: String,
        /// What went wrong.
        detail: String,
    },
    /// It answered with an error.
    #[error("the running `watch` at {addr} answered {status} to {what}: {message}")]
    Refused {
        /// Where it listens.
        addr: String,
        /// The request.
        what: String,
        /// The HTTP status.
        status: u16,
        /// Its error message.
        message: String,
    },
    /// Its answer was not what this version expects.
    #[error(
        "the running `watch` at {addr} answered {what} with a document this powerplane cannot read ({detail}); is it another version?"
    )]
    Malformed {
        /// Where it listens.
        addr: String,
        /// The request.
        what: String,
        /// Why.
        detail: String,
    },
    /// The token file is damaged.
    #[error(transparent)]
    Token(#[from] TokenError),
}

/// Whether `e` says another process holds the state directory.
pub fn is_locked(e: &anyhow::Error) -> bool {
    e.chain().any(|c| matches!(c.downcast_ref::<StoreError>(), Some(StoreError::Locked { .. })))
}

impl Controller {
    /// The controller that holds `state_dir`, when its lock record says where it listens.
    pub fn holding(state_dir: &Path) -> Result<Option<Controller>, ClientError> {
        let Some(addr) = crate::store::lock::listener(state_dir) else { return Ok(None) };
        Ok(Some(Controller::at(addr, Token::load(state_dir)?)))
    }

    /// The controller at `addr` (`HOST:PORT`), with `token` for what needs one.
    pub fn at(addr: String, token: Option<Token>) -> Controller {
        let http = reqwest::Client::builder()
            .timeout(super::REQUEST_TIMEOUT + std::time::Duration::from_secs(5))
            .build()
            .expect("an HTTP client without TLS builds");
        Controller { addr, token, http }
    }

    /// Where it listens.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// `GET path` as `T`.
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        self.send(self.http.get(self.url(path)), &format!("GET {path}")).await
    }

    /// `POST path` with `body` as JSON, answered as `T`.
    pub async fn post<B: Serialize, T: DeserializeOwned>(&self, path: &str, body: &B) -> Result<T, ClientError> {
        self.send(self.http.post(self.url(path)).json(body), &format!("POST {path}")).await
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    async fn send<T: DeserializeOwned>(&self, req: reqwest::RequestBuilder, what: &str) -> Result<T, ClientError> {
        let req = match &self.token {
            Some(t) => req.bearer_auth(t.secret()),
            None => req,
        };
        let unreachable =
            |e: reqwest::Error| ClientError::Unreachable { addr: self.addr.clone(), detail: e.to_string() };
        let response = req.send().await.map_err(unreachable)?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(unreachable)?;
        if !status.is_success() {
            let message = serde_json::from_slice::<serde_json::Value>(&bytes)
                .ok()
                .and_then(|v| v["error"].as_str().map(str::to_owned))
                .unwrap_or_else(|| String::from_utf8_lossy(&bytes).trim().to_owned());
            return Err(ClientError::Refused {
                addr: self.addr.clone(),
                what: what.to_owned(),
                status: status.as_u16(),
                message,
            });
        }
        serde_json::from_slice(&bytes).map_err(|e| ClientError::Malformed {
            addr: self.addr.clone(),
            what: what.to_owned(),
            detail: e.to_string(),
        })
    }
}
