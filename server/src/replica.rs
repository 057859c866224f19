//! Replicas: several `cellproof-server --database URL` processes on one PostgreSQL database
//! (docs/deploy.md). Any of them takes signed requests (status bits are applied and allocated
//! indexes claimed bit by bit in the database, `store::BitChange` and `store::IndexClaim`, so
//! writers never clobber each other and an index is never handed out twice); exactly one at
//! a time signs and publishes status lists (and the store records a signed list only after
//! the version it replaces, `store::SignedList`, so even two signers for a moment never put
//! two bodies under one `validFrom`): the one holding a session-level advisory lock
//! (`pg_try_advisory_lock`) on a connection of its own. The lock belongs to that session:
//! when the holder dies (even SIGKILL) PostgreSQL sees its socket close and releases it, and
//! another replica takes it at its next poll, within [`POLL`] (well inside 10 s).
//!
//! Every replica watches the database on that connection every [`POLL`] (the audit log's
//! last `seq` and the change version every write of issuers, lists and status lists bumps,
//! migration 3: any change, publication or request, moves one of them) and, when they moved,
//! re-reads the rows written since the version it holds (`Store::changes`), so what the
//! leader published is served by every replica within a second.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::clock::Clock;
use crate::registry::Registry;

/// How often a replica polls the lease and the change mark.
pub const POLL: Duration = Duration::from_millis(250);

/// The signing lease: a session-level advisory lock keyed by the registry's schema, so
/// registries in other schemas of the same database (tests in parallel, or an operator's
/// staging and production) each have their own lease instead of blocking each other's
/// signing.
pub const LEASE: &str = "SELECT pg_try_advisory_lock(hashtext('cellproof.signing-lease'), \
    hashtext(coalesce(current_schema(), '')))";

/// The change mark: moves with every committed audit entry and every signed list (two index
/// or one-row reads, whatever the number of lists).
const MARK: &str = "SELECT (SELECT coalesce(max(seq), 0) FROM audit)::bigint, \
    (SELECT version FROM registry_version WHERE id = 1)::bigint";

/// Starts the replica thread (lease and change watch) for `registry` on `url`.
pub fn start(
    url: String,
    registry: Arc<Mutex<Registry>>,
    clock: Arc<dyn Clock>,
) -> std::io::Result<()> {
    if let Ok(mut r) = registry.lock() {
        r.replicate();
    }
    // The first lease attempt is made before the server answers anything: a lone replica
    // signs from its first request on, instead of deferring it to the next poll.
    let (ready, first) = std::sync::mpsc::channel::<()>();
    std::thread::Builder::new()
        .name("replica".into())
        .spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    tracing::error!(error = %e, "replica runtime failed: this replica never signs");
                    return;
                }
            };
            rt.block_on(async move {
                let mut ready = Some(ready);
                loop {
                    if let Err(e) = session(&url, &registry, &clock, &mut ready).await {
                        tracing::warn!(error = %e, "replica connection lost: not signing");
                    }
                    set_signer(&registry, false);
                    tokio::time::sleep(POLL).await;
                }
            });
        })?;
    if first.recv_timeout(FIRST_LEASE).is_err() {
        tracing::warn!("no answer to the first lease attempt yet: serving as a follower");
    }
    Ok(())
}

/// How long start-up waits for the first lease attempt.
const FIRST_LEASE: Duration = Duration::from_secs(5);

fn set_signer(registry: &Mutex<Registry>, signs: bool) {
    if let Ok(mut r) = registry.lock() {
        r.set_signer(signs);
    }
}

async fn session(
    url: &str,
    registry: &Arc<Mutex<Registry>>,
    clock: &Arc<dyn Clock>,
    ready: &mut Option<std::sync::mpsc::Sender<()>>,
) -> Result<(), tokio_postgres::Error> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    let conn = tokio::spawn(connection);
    let mut leader = false;
    let mut last: Option<(i64, i64)> = None;
    let out = loop {
        if !leader {
            match client.query_one(LEASE, &[]).await {
                Ok(row) => leader = row.get::<_, bool>(0),
                Err(e) => break Err(e),
            }
            if leader {
                tracing::info!("replica holds the signing lease");
            }
        }
        let mark = match client.query_one(MARK, &[]).await {
            Ok(row) => (row.get::<_, i64>(0), row.get::<_, i64>(1)),
            Err(e) => break Err(e),
        };
        let took_lease = leader && !registry.lock().map(|r| r.signs()).unwrap_or(true);
        if last != Some(mark) || took_lease {
            let (r, c) = (registry.clone(), clock.clone());
            let res = tokio::task::spawn_blocking(move || {
                let mut reg = r.lock().map_err(|_| "registry lock poisoned".to_owned())?;
                // Fresh state before signing anything: the lists as every replica left them.
                reg.reload().map_err(|e| e.to_string())?;
                if leader && !reg.signs() {
                    reg.set_signer(true);
                    reg.resign(c.now()).map_err(|e| e.to_string())?;
                }
                Ok::<_, String>(())
            })
            .await;
            match res {
                Ok(Ok(())) => last = Some(mark),
                Ok(Err(e)) => tracing::error!(error = %e, "replica reload failed"),
                Err(e) => tracing::error!(error = %e, "replica reload task failed"),
            }
        }
        if let Some(tx) = ready.take() {
            let _ = tx.send(());
        }
        tokio::time::sleep(POLL).await;
    };
    conn.abort();
    out
}
