//! `infisical-emulator`: a faithful local emulation of the parts of Infisical's API that an
//! operator managing an organisation's OIDC SSO configuration talks to (status, Universal Auth
//! login, Kubernetes Auth login with a real TokenReview, token renew/revoke, identity details,
//! `GET/POST/PATCH /api/v1/sso/oidc/config`), plus a test-control surface (library [`Control`]
//! and HTTP `/__emulator/*`).
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use infisical_emulator::{Emulator, EmulatorConfig, IdentitySeed, OrgSeed};
//! let emu = Emulator::start(EmulatorConfig::default()).await?;
//! let control = emu.control();
//! let org_id = control.seed_org(OrgSeed::default());
//! let creds = control.seed_identity(IdentitySeed { org_id: org_id.clone(), ..Default::default() });
//! println!("{} {}", emu.base_url(), creds.client_id);
//! emu.shutdown().await;
//! # Ok(()) }
//! ```

mod auth;
mod clock;
mod control_http;
mod control_sso;
mod control_sso_http;
mod dns;
mod identity_api;
mod jwt;
mod k8s;
mod ldap;
mod ldap_bind;
mod ldap_defaults;
mod oidc;
mod org_lookup;
mod random;
mod rate_limit;
mod redact;
mod reply;
mod reqlog;
mod saml;
mod server;
mod sso_types;
mod state;
mod tokens;
mod types;
mod validate;

use std::net::SocketAddr;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use reqlog::RequestIter;
pub use sso_types::*;
pub use state::Control;
pub use types::*;

/// A running emulator. Dropping it stops the server (prefer [`Emulator::shutdown`]).
pub struct Emulator {
    addr: SocketAddr,
    tls: bool,
    control: Control,
    shutdown_tx: Option<watch::Sender<bool>>,
    task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emulator")
            .field("addr", &self.addr)
            .field("tls", &self.tls)
            .finish()
    }
}

impl Emulator {
    /// Start over plain HTTP on `127.0.0.1:0` (a free port).
    pub async fn start(config: EmulatorConfig) -> std::io::Result<Emulator> {
        Self::start_on(config, SocketAddr::from(([127, 0, 0, 1], 0)), None).await
    }

    /// Start on `addr`, over HTTPS when `tls` is given.
    pub async fn start_on(
        config: EmulatorConfig,
        addr: SocketAddr,
        tls: Option<TlsFiles>,
    ) -> std::io::Result<Emulator> {
        let acceptor = tls.as_ref().map(server::tls_acceptor).transpose()?;
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let shared = state::Shared::new(&config);
        let control = Control {
            shared: shared.clone(),
        };
        let (tx, rx) = watch::channel(false);
        let task = tokio::spawn(server::serve(listener, acceptor.clone(), shared, rx));
        Ok(Emulator {
            addr,
            tls: acceptor.is_some(),
            control,
            shutdown_tx: Some(tx),
            task: Some(task),
        })
    }

    /// `http://127.0.0.1:PORT`, or `https://localhost:PORT` when serving TLS.
    pub fn base_url(&self) -> String {
        if self.tls {
            format!("https://localhost:{}", self.addr.port())
        } else {
            format!("http://{}", self.addr)
        }
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn control(&self) -> Control {
        self.control.clone()
    }

    /// Stop accepting connections and close open ones.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown_tx.take() {
            let _ = tx.send(true);
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown_tx.take() {
            let _ = tx.send(true);
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
