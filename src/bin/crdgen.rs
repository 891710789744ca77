//! Writes the generated CRDs to `crds/` and to the Helm chart. `tests/crd.rs` fails when the
//! checked-in copies differ from what this produces.

use std::path::Path;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (paths, yaml) in infisical_oidc_operator::api::crds() {
        for relative in paths {
            let path = root.join(relative);
            std::fs::create_dir_all(path.parent().expect("CRD path has a parent"))?;
            std::fs::write(&path, &yaml)?;
            println!("wrote {}", path.display());
        }
    }
    Ok(())
}
