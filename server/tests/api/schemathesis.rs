//! Running schemathesis (property-based tests generated from the OpenAPI document)
//! against a live server: the API tests' bounded run and the load test's differential
//! check (`server/examples/load.rs` includes this file).

use std::path::{Path, PathBuf};
use std::process::Command;

/// The schemathesis that `.ci/setup --test` installs (a virtualenv in the tools
/// directory), or one on PATH.
pub fn find() -> Option<PathBuf> {
    let tools = std::env::var_os("COHORT_TOOLS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                .join(".local/share/cohort-tools")
        });
    let installed = tools.join("schemathesis/bin/schemathesis");
    if installed.exists() {
        return Some(installed);
    }
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .map(|dir| dir.join("schemathesis"))
        .find(|candidate| candidate.exists())
}

/// `schemathesis run` against the OpenAPI document served at `base`, with the repository's
/// configuration (`schemathesis.toml`: every check), two workers and `token` as the
/// bearer; run in `workdir` (it writes its cache there). The caller bounds the run
/// (`--max-examples` and `--seed`, or `--max-time`).
pub fn command(program: &Path, base: &str, token: &str, workdir: &Path) -> Command {
    let mut command = Command::new(program);
    command
        .current_dir(workdir)
        .arg("--no-color")
        .arg("--config-file")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/api/schemathesis.toml"
        ))
        .arg("run")
        .arg(format!("{base}/api/v1/openapi.json"))
        .args(["--workers", "2"])
        .arg("--header")
        .arg(format!("Authorization: Bearer {token}"))
        .env("SCHEMATHESIS_HOOKS", "");
    command
}
