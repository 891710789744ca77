//! The operator's image as `hack/image/build.sh` builds it (hack/test.sh builds it once and passes
//! its directory in `IMAGE_DIR`): reproducible, the same as the Dockerfile's, static, and with an
//! SBOM that accounts for every crate in Cargo.lock.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use support::process::must;
use support::repo;

fn image_dir() -> PathBuf {
    let dir = std::env::var_os("IMAGE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            panic!(
                "IMAGE_DIR is unset: these tests run through hack/test.sh, which builds the image"
            )
        });
    assert!(
        dir.join("layout/index.json").is_file(),
        "no image in {}",
        dir.display()
    );
    dir
}

fn json(path: &Path) -> Value {
    serde_json::from_slice(
        &std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display())),
    )
    .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// An OCI image layout's config and its one layer's entries: path → (type, permission bits),
/// the type as tar(1) lists it (`-` file, `d` directory, `l` symlink).
struct Image {
    config: Value,
    files: BTreeMap<String, (char, u32)>,
}

fn blob(layout: &Path, digest: &str) -> Vec<u8> {
    std::fs::read(
        layout
            .join("blobs/sha256")
            .join(digest.trim_start_matches("sha256:")),
    )
    .unwrap()
}

fn read_image(layout: &Path) -> Image {
    let index = json(&layout.join("index.json"));
    let manifest: Value = serde_json::from_slice(&blob(
        layout,
        index["manifests"][0]["digest"].as_str().unwrap(),
    ))
    .unwrap();
    let config: Value = serde_json::from_slice(&blob(
        layout,
        manifest["config"]["digest"].as_str().unwrap(),
    ))
    .unwrap();
    let layers = manifest["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 1, "one layer");
    let gz = blob(layout, layers[0]["digest"].as_str().unwrap());
    // The layer's listing through tar(1): no archive crate needed for a test.
    let dir = tempfile::tempdir().unwrap();
    let tar_path = dir.path().join("layer.tar.gz");
    std::fs::write(&tar_path, gz).unwrap();
    let listing = must(Command::new("tar").args(["tzvf"]).arg(&tar_path));
    let files = listing
        .lines()
        .map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let mode = fields[0];
            let path = fields[5].trim_end_matches('/').to_string();
            let bits = mode[1..]
                .chars()
                .fold(0u32, |acc, c| (acc << 1) | u32::from(c != '-'));
            (path, (mode.chars().next().unwrap(), bits))
        })
        .collect();
    Image { config, files }
}

fn build_into(out: &Path, extra_env: &[(&str, &str)]) -> String {
    must(
        Command::new("bash")
            .arg(repo().join("hack/image/build.sh"))
            .env("IMAGE_SKIP_BUILD", "1")
            .env("IMAGE_SKIP_SBOM", "1")
            .env("IMAGE_OUT", out)
            .envs(extra_env.iter().copied()),
    );
    std::fs::read_to_string(out.join("digest"))
        .unwrap()
        .trim()
        .to_string()
}

#[test]
fn two_builds_of_one_commit_give_one_image_digest() {
    let built = std::fs::read_to_string(image_dir().join("digest"))
        .unwrap()
        .trim()
        .to_string();
    let dir = tempfile::tempdir().unwrap();
    let first = build_into(&dir.path().join("a"), &[]);
    let second = build_into(&dir.path().join("b"), &[]);
    assert_eq!(first, second, "two builds of the same binary and commit");
    assert_eq!(first, built, "the test's builds and hack/test.sh's");
    let bytes = |d: &str| std::fs::read(dir.path().join(d).join("image.tar")).unwrap();
    assert_eq!(
        bytes("a"),
        bytes("b"),
        "the archives are byte for byte the same"
    );
    // Another creation time is another image: the time is part of what is built.
    let later = build_into(
        &dir.path().join("c"),
        &[("SOURCE_DATE_EPOCH", "1800000000")],
    );
    assert_ne!(later, first);
}

#[test]
fn the_image_writer_ignores_the_inputs_file_times_and_modes() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, touched: &str, mode: u32| {
        let path = dir.path().join(name);
        std::fs::create_dir_all(&path).unwrap();
        let file = path.join("payload");
        std::fs::write(&file, b"the same bytes").unwrap();
        must(Command::new("touch").args(["-d", touched]).arg(&file));
        must(Command::new("chmod").arg(format!("{mode:o}")).arg(&file));
        file
    };
    let a = write("a", "2001-01-01", 0o600);
    let b = write("b", "2031-06-30", 0o755);
    let digest = |file: &Path, out: &str| {
        must(
            Command::new("python3")
                .arg(repo().join("hack/image/oci.py"))
                .args([
                    "--out",
                    &dir.path().join(out).to_string_lossy(),
                    "--name",
                    "x",
                    "--tag",
                    "1",
                    "--created",
                    "0",
                    "--file",
                    &format!("{}:/srv/payload:644", file.display()),
                ]),
        )
        .trim()
        .to_string()
    };
    assert_eq!(digest(&a, "out-a"), digest(&b, "out-b"));
}

/// The Dockerfile's final stage: its USER, ENTRYPOINT, EXPOSE, ENV, LABEL keys and the paths its
/// COPY instructions create.
struct DockerfileStage {
    user: String,
    entrypoint: Value,
    expose: BTreeSet<String>,
    env: BTreeSet<String>,
    labels: BTreeMap<String, String>,
    files: BTreeSet<String>,
}

fn dockerfile_stage() -> DockerfileStage {
    let text = std::fs::read_to_string(repo().join("Dockerfile")).unwrap();
    // Joined continuation lines, comments dropped.
    let mut instructions = vec![];
    let mut current = String::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || (line.is_empty() && current.is_empty()) {
            continue;
        }
        if let Some(part) = line.strip_suffix('\\') {
            current.push_str(part);
            current.push(' ');
        } else {
            current.push_str(line);
            instructions.push(std::mem::take(&mut current));
        }
    }
    let last_from = instructions
        .iter()
        .rposition(|i| i.starts_with("FROM "))
        .unwrap();
    let stage = &instructions[last_from..];
    assert_eq!(
        stage[0], "FROM scratch",
        "the runtime stage has no base image"
    );
    let mut result = DockerfileStage {
        user: String::new(),
        entrypoint: Value::Null,
        expose: BTreeSet::new(),
        env: BTreeSet::new(),
        labels: BTreeMap::new(),
        files: BTreeSet::new(),
    };
    let pairs = |rest: &str| -> Vec<(String, String)> {
        // KEY="value with spaces" KEY=value ...
        let mut out = vec![];
        let mut rest = rest.trim();
        while !rest.is_empty() {
            let (key, after) = rest.split_once('=').unwrap();
            let (value, next) = if let Some(quoted) = after.strip_prefix('"') {
                let end = quoted.find('"').unwrap();
                (quoted[..end].to_string(), &quoted[end + 1..])
            } else {
                let end = after.find(' ').unwrap_or(after.len());
                (after[..end].to_string(), &after[end..])
            };
            out.push((key.trim().to_string(), value));
            rest = next.trim();
        }
        out
    };
    for instruction in &stage[1..] {
        let (verb, rest) = instruction.split_once(' ').unwrap();
        match verb {
            "USER" => result.user = rest.trim().to_string(),
            "ENTRYPOINT" => result.entrypoint = serde_json::from_str(rest).unwrap(),
            "EXPOSE" => result
                .expose
                .extend(rest.split_whitespace().map(str::to_string)),
            "ENV" => result
                .env
                .extend(pairs(rest).into_iter().map(|(k, v)| format!("{k}={v}"))),
            "LABEL" => result.labels.extend(pairs(rest)),
            "COPY" => {
                let args: Vec<&str> = rest
                    .split_whitespace()
                    .filter(|a| !a.starts_with("--"))
                    .collect();
                let (dest, sources) = args.split_last().unwrap();
                for source in sources {
                    let path = if dest.ends_with('/') {
                        format!(
                            "{}{}",
                            dest,
                            Path::new(source).file_name().unwrap().to_string_lossy()
                        )
                    } else {
                        dest.to_string()
                    };
                    result
                        .files
                        .insert(path.trim_start_matches('/').to_string());
                }
            }
            "ARG" => {}
            other => {
                panic!("the runtime stage has an instruction this test does not read: {other}")
            }
        }
    }
    result
}

#[test]
fn the_image_and_the_dockerfile_agree_on_user_entrypoint_ports_labels_and_files() {
    let image = read_image(&image_dir().join("layout"));
    let config = &image.config["config"];
    let docker = dockerfile_stage();

    assert_eq!(config["User"], "65532:65532");
    assert_eq!(docker.user, "65532:65532");
    assert_eq!(
        config["Entrypoint"],
        serde_json::json!(["/infisical-oidc-operator"])
    );
    assert_eq!(docker.entrypoint, config["Entrypoint"]);
    let ports: BTreeSet<String> = config["ExposedPorts"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(ports, BTreeSet::from(["8080/tcp".to_string()]));
    assert_eq!(docker.expose, ports);
    let env: BTreeSet<String> = config["Env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap().to_string())
        .collect();
    assert_eq!(docker.env, env);

    let labels: BTreeMap<String, String> = config["Labels"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect();
    assert_eq!(
        labels.keys().collect::<Vec<_>>(),
        docker.labels.keys().collect::<Vec<_>>(),
        "the same label keys"
    );
    for (key, value) in &docker.labels {
        // Values the Dockerfile takes from build arguments are set per build.
        if !value.starts_with("${") {
            assert_eq!(&labels[key], value, "label {key}");
        }
    }
    let head = must(
        Command::new("git")
            .args(["rev-parse", "HEAD"])
            .current_dir(repo()),
    );
    assert_eq!(labels["org.opencontainers.image.revision"], head.trim());
    assert!(labels["org.opencontainers.image.created"].ends_with('Z'));

    let files: BTreeSet<String> = image
        .files
        .iter()
        .filter(|(_, (kind, _))| *kind != 'd')
        .map(|(path, _)| path.clone())
        .collect();
    assert_eq!(files, docker.files, "the same files (directories aside)");
    assert_eq!(
        image.files["infisical-oidc-operator"],
        ('-', 0o755),
        "a regular file, executable, writable by its owner root only"
    );
}

#[test]
fn the_binary_in_the_image_is_statically_linked() {
    let image = image_dir();
    let layout = image.join("layout");
    let index = json(&layout.join("index.json"));
    let manifest: Value = serde_json::from_slice(&blob(
        &layout,
        index["manifests"][0]["digest"].as_str().unwrap(),
    ))
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let tar_path = dir.path().join("layer.tar.gz");
    std::fs::write(
        &tar_path,
        blob(&layout, manifest["layers"][0]["digest"].as_str().unwrap()),
    )
    .unwrap();
    must(
        Command::new("tar")
            .arg("xzf")
            .arg(&tar_path)
            .arg("-C")
            .arg(dir.path())
            .arg("infisical-oidc-operator"),
    );
    let binary = dir.path().join("infisical-oidc-operator");
    let headers = must(Command::new("readelf").arg("-lW").arg(&binary));
    assert!(!headers.contains("INTERP"), "no program interpreter");
    let dynamic = must(Command::new("readelf").arg("-dW").arg(&binary));
    assert!(
        !dynamic.contains("NEEDED"),
        "no shared library needed: {dynamic}"
    );
    // It runs with nothing around it: --version from an empty environment.
    let out = Command::new(&binary)
        .arg("--version")
        .env_clear()
        .output()
        .unwrap();
    assert!(out.status.success());
    let mut version = String::new();
    out.stdout.as_slice().read_to_string(&mut version).unwrap();
    assert!(version.contains(env!("CARGO_PKG_VERSION")), "{version}");
}

/// Cargo.lock's packages as `name@version`.
fn locked_packages() -> BTreeSet<String> {
    let lock: toml_lite::Lock =
        toml_lite::parse(&std::fs::read_to_string(repo().join("Cargo.lock")).unwrap());
    lock.packages
        .into_iter()
        .map(|(n, v)| format!("{n}@{v}"))
        .collect()
}

/// The packages the operator binary can contain: its normal and build dependencies, for every
/// platform and feature, from `cargo metadata`.
fn operator_graph() -> BTreeSet<String> {
    let metadata: Value = serde_json::from_str(&must(
        Command::new("cargo")
            .args([
                "metadata",
                "--format-version",
                "1",
                "--all-features",
                "--locked",
                "--offline",
            ])
            .current_dir(repo()),
    ))
    .unwrap();
    let packages: BTreeMap<String, String> = metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["id"].as_str().unwrap().to_string(),
                format!(
                    "{}@{}",
                    p["name"].as_str().unwrap(),
                    p["version"].as_str().unwrap()
                ),
            )
        })
        .collect();
    let nodes: BTreeMap<String, &Value> = metadata["resolve"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["id"].as_str().unwrap().to_string(), n))
        .collect();
    let root = packages
        .iter()
        .find(|(_, nv)| nv.starts_with("infisical-oidc-operator@"))
        .map(|(id, _)| id.clone())
        .unwrap();
    let mut seen = BTreeSet::new();
    let mut stack = vec![root];
    while let Some(id) = stack.pop() {
        if !seen.insert(id.clone()) {
            continue;
        }
        for dep in nodes[&id]["deps"].as_array().unwrap() {
            let runtime = dep["dep_kinds"]
                .as_array()
                .unwrap()
                .iter()
                .any(|k| k["kind"].is_null() || k["kind"] == "build");
            if runtime {
                stack.push(dep["pkg"].as_str().unwrap().to_string());
            }
        }
    }
    seen.iter().map(|id| packages[id].clone()).collect()
}

#[test]
fn the_sbom_lists_every_crate_of_cargo_lock_that_the_binary_can_contain() {
    let sbom = json(&image_dir().join("infisical-oidc-operator.cdx.json"));
    assert_eq!(sbom["bomFormat"], "CycloneDX");
    let mut listed: BTreeSet<String> = sbom["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            format!(
                "{}@{}",
                c["name"].as_str().unwrap(),
                c["version"].as_str().unwrap()
            )
        })
        .collect();
    let main = &sbom["metadata"]["component"];
    listed.insert(format!(
        "{}@{}",
        main["name"].as_str().unwrap(),
        main["version"].as_str().unwrap()
    ));
    let locked = locked_packages();
    let graph = operator_graph();

    let missing: Vec<&String> = graph.difference(&listed).collect();
    assert!(
        missing.is_empty(),
        "crates the binary can contain but the SBOM does not list: {missing:?}"
    );
    let unknown: Vec<&String> = listed.difference(&locked).collect();
    assert!(
        unknown.is_empty(),
        "the SBOM lists crates Cargo.lock does not have: {unknown:?}"
    );
    // Every other crate of Cargo.lock is for tests and the emulator only.
    let left_out: BTreeSet<&String> = locked.difference(&listed).collect();
    assert!(
        left_out.iter().all(|p| !graph.contains(*p)),
        "left out of the SBOM, yet in the operator's graph: {:?}",
        left_out
            .iter()
            .filter(|p| graph.contains(**p))
            .collect::<Vec<_>>()
    );
    println!(
        "Cargo.lock: {} crates; the SBOM: {} (the operator's whole graph, every platform and feature); left out: {} dev- or emulator-only crates",
        locked.len(),
        listed.len(),
        left_out.len()
    );
}

/// Just enough of Cargo.lock's TOML: the `[[package]]` tables' name and version.
mod toml_lite {
    pub struct Lock {
        pub packages: Vec<(String, String)>,
    }

    pub fn parse(text: &str) -> Lock {
        let mut packages = vec![];
        let mut name = None;
        for line in text.lines() {
            if line == "[[package]]" {
                name = None;
            } else if let Some(value) = line.strip_prefix("name = ") {
                name = Some(value.trim_matches('"').to_string());
            } else if let Some(value) = line.strip_prefix("version = ")
                && let Some(name) = name.take()
            {
                packages.push((name, value.trim_matches('"').to_string()));
            }
        }
        Lock { packages }
    }
}
