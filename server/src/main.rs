//! `cellproof-server` binary: parses the command line, loads the layered configuration and
//! runs the registry library until SIGTERM or ctrl-c.

use std::io::Write as _;

use clap::Parser as _;

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    cellproof_server::init_telemetry();
    let cli = cellproof_server::Cli::parse();
    if let Some(cellproof_server::Command::Audit {
        action:
            cellproof_server::AuditCommand::Verify {
                logs,
                head,
                trust_lists,
                roots,
            },
    }) = &cli.command
    {
        // Exit codes as the CLI's: 0 verified, 1 the copy fails, 2 usage or I/O.
        let code = match cellproof_server::verify_audit_files(logs, head, trust_lists, roots) {
            Ok(Ok(r)) => {
                println!(
                    "audit log verified: {} entries, head at entry {} signed by {} for {} at {}{}",
                    r.entries,
                    r.head_seq,
                    r.authority,
                    r.registry,
                    r.head_iat,
                    if r.unsigned_tail > 0 {
                        format!(
                            "; {} later entries are linked but not yet covered by a signed head",
                            r.unsigned_tail
                        )
                    } else {
                        String::new()
                    }
                );
                0
            }
            Ok(Err(e)) => {
                eprintln!("audit log NOT verified: {e}");
                1
            }
            Err(e) => {
                eprintln!("error: {e:#}");
                2
            }
        };
        std::process::exit(code);
    }
    let config = cellproof_server::Config::load(&cli)?;
    let data = config.data_dir.clone();
    let app = cellproof_server::Application::build(config).await?;
    // Write errors are ignored: a closed stdout must not stop the server (`println!` would
    // panic on a broken pipe once whoever started us stops reading).
    let mut out = std::io::stdout();
    let _ = writeln!(out, "cellproof-server listening on {}", app.public_url());
    if let Some(m) = app.manifest() {
        let manifest = data.join("demo/manifest.json");
        let _ = writeln!(out, "demo manifest: {}", manifest.display());
        if let Some(url) = m["samples"][0]["url"].as_str() {
            let _ = writeln!(out, "open in a browser: {url}");
        }
        for s in m["samples"].as_array().into_iter().flatten() {
            if let (Some(name), Some(url)) = (s["name"].as_str(), s["url"].as_str()) {
                let _ = writeln!(out, "  sample {name}: {url}");
            }
        }
        if let Some(origin) = m["foreign"]["origin"].as_str() {
            let _ = writeln!(
                out,
                "labels without a credential, verified online (paste into the page's scanner \
                 field; the foreign resolver is {origin}):"
            );
        }
        for s in m["resolvedSamples"].as_array().into_iter().flatten() {
            if let (Some(name), Some(url)) = (s["name"].as_str(), s["url"].as_str()) {
                let _ = writeln!(out, "  {name}: {url}");
            }
        }
    }
    let _ = out.flush();
    app.run_until_stopped().await?;
    Ok(())
}
