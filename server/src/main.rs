//! `cellproof-server` binary: parses the command line, loads the layered configuration and
//! runs the registry library until SIGTERM or ctrl-c.

use std::io::Write as _;

use clap::Parser as _;

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    cellproof_server::init_telemetry();
    let cli = cellproof_server::Cli::parse();
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
    }
    let _ = out.flush();
    app.run_until_stopped().await?;
    Ok(())
}
