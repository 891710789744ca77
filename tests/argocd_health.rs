//! The Argo CD health check (`hack/argocd/health.lua`) against its own test cases
//! (`hack/argocd/health_test.yaml`, Argo CD's `resource_customizations` shape), run by
//! `argocd-health` (hack/gitops): gopher-lua set up as Argo CD's util/lua/lua.go sets it up
//! (package, base, table and Argo CD's safe os; `obj` decoded as Argo CD decodes it; 1 s timeout).
//!
//! The programs come from `GITOPS_BIN_DIR` (hack/test.sh builds them), else from one run of
//! `hack/gitops/build.sh` (needs Go >= 1.26).

mod support;

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_yaml::Value;
use support::{gitops_bin, repo};

fn argocd_dir() -> PathBuf {
    repo().join("hack/argocd")
}

fn argocd_health(args: &[&str]) -> Output {
    Command::new(gitops_bin("argocd-health"))
        .args(args)
        .current_dir(repo())
        .output()
        .expect("run argocd-health")
}

fn text(out: &Output) -> String {
    format!(
        "exit: {}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// (cases, passed, failed) from the closing line `argocd-health: N cases, P passed, F failed`.
fn summary(out: &Output) -> (usize, usize, usize) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("argocd-health: "))
        .unwrap_or_else(|| panic!("no summary line\n{}", text(out)));
    let numbers: Vec<usize> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap())
        .collect();
    let [cases, passed, failed] = numbers[..] else {
        panic!("unexpected summary {line:?}");
    };
    (cases, passed, failed)
}

fn load_cases() -> Vec<(String, String, String)> {
    let path = argocd_dir().join("health_test.yaml");
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let doc: Value = serde_yaml::from_str(&text).unwrap();
    doc["tests"]
        .as_sequence()
        .expect("tests: a list")
        .iter()
        .map(|t| {
            let field = |v: &Value, what: &str| {
                v.as_str()
                    .unwrap_or_else(|| panic!("test case without {what}: {t:?}"))
                    .to_string()
            };
            (
                field(&t["inputPath"], "inputPath"),
                field(&t["healthStatus"]["status"], "healthStatus.status"),
                field(&t["healthStatus"]["message"], "healthStatus.message"),
            )
        })
        .collect()
}

#[test]
fn every_case_in_health_test_yaml_passes_under_argo_cds_interpreter() {
    let cases = load_cases();
    assert!(!cases.is_empty(), "health_test.yaml has no tests");
    // As installed through argocd-cm (no standard libraries beyond Argo CD's set), and as Argo CD's
    // own health_test.go runs built-in scripts (`--use-open-libs`).
    for extra in [None, Some("--use-open-libs")] {
        let mut args = vec![
            "--script",
            "hack/argocd/health.lua",
            "--tests",
            "hack/argocd/health_test.yaml",
        ];
        args.extend(extra);
        let out = argocd_health(&args);
        assert!(out.status.success(), "{extra:?}: {}", text(&out));
        assert_eq!(
            summary(&out),
            (cases.len(), cases.len(), 0),
            "{extra:?}: {}",
            text(&out)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        for (input, _, _) in &cases {
            assert!(
                stdout
                    .lines()
                    .any(|l| l.starts_with(&format!("ok   {input}: "))),
                "{extra:?}: no passing line for {input}\n{}",
                text(&out)
            );
        }
    }
}

#[test]
fn a_wrong_expectation_fails_the_run_with_expected_and_got() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("testdata")).unwrap();
    std::fs::copy(
        argocd_dir().join("testdata/healthy.yaml"),
        dir.path().join("testdata/healthy.yaml"),
    )
    .unwrap();
    std::fs::copy(
        argocd_dir().join("testdata/suspended.yaml"),
        dir.path().join("testdata/suspended.yaml"),
    )
    .unwrap();
    let tests = dir.path().join("health_test.yaml");
    std::fs::write(
        &tests,
        "tests:\n\
         - inputPath: testdata/healthy.yaml\n  healthStatus: {status: Degraded, message: OIDC config 3e9a7c44-1f0b-4a51-8c0e-5b7d2f6a1c93 is in sync}\n\
         - inputPath: testdata/suspended.yaml\n  healthStatus: {status: Suspended, message: 'Reconciliation is suspended (spec.suspend: true)'}\n",
    )
    .unwrap();
    let out = argocd_health(&[
        "--script",
        "hack/argocd/health.lua",
        "--tests",
        tests.to_str().unwrap(),
    ]);
    assert!(!out.status.success(), "{}", text(&out));
    assert_eq!(summary(&out), (2, 1, 1), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("FAIL testdata/healthy.yaml\n  expected: {\"status\":\"Degraded\"")
            && stdout.contains("  got:      {\"status\":\"Healthy\""),
        "{}",
        text(&out)
    );

    // A wrong message alone fails too: messages are compared exactly, as Argo CD compares them.
    std::fs::write(
        &tests,
        "tests:\n- inputPath: testdata/healthy.yaml\n  healthStatus: {status: Healthy, message: in sync}\n",
    )
    .unwrap();
    let out = argocd_health(&[
        "--script",
        "hack/argocd/health.lua",
        "--tests",
        tests.to_str().unwrap(),
    ]);
    assert!(!out.status.success(), "{}", text(&out));
    assert_eq!(summary(&out), (1, 0, 1), "{}", text(&out));
}

#[test]
fn no_cases_a_missing_input_or_a_broken_script_fail_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let tests = dir.path().join("health_test.yaml");
    let run = |script: &str, yaml: &str| {
        std::fs::write(&tests, yaml).unwrap();
        argocd_health(&["--script", script, "--tests", tests.to_str().unwrap()])
    };
    let empty = run("hack/argocd/health.lua", "tests: []\n");
    assert!(!empty.status.success(), "{}", text(&empty));
    assert!(
        String::from_utf8_lossy(&empty.stderr).contains("has no tests"),
        "{}",
        text(&empty)
    );

    let missing = run(
        "hack/argocd/health.lua",
        "tests:\n- inputPath: testdata/nope.yaml\n  healthStatus: {status: Healthy, message: x}\n",
    );
    assert!(!missing.status.success(), "{}", text(&missing));
    assert_eq!(summary(&missing), (1, 0, 1), "{}", text(&missing));

    let script = dir.path().join("broken.lua");
    std::fs::write(&script, "local hs = {\nreturn hs\n").unwrap();
    std::fs::write(dir.path().join("obj.yaml"), "metadata: {name: x}\n").unwrap();
    let broken = run(
        script.to_str().unwrap(),
        "tests:\n- inputPath: obj.yaml\n  healthStatus: {status: Healthy, message: x}\n",
    );
    assert!(!broken.status.success(), "{}", text(&broken));
    assert_eq!(summary(&broken), (1, 0, 1), "{}", text(&broken));
}

#[test]
fn test_cases_cover_every_status_and_every_testdata_file() {
    let cases = load_cases();
    for status in ["Healthy", "Progressing", "Degraded", "Suspended"] {
        assert!(
            cases.iter().any(|(_, s, _)| s == status),
            "no test case expects {status}"
        );
    }
    let mut files: Vec<String> = std::fs::read_dir(argocd_dir().join("testdata"))
        .unwrap()
        .map(|e| format!("testdata/{}", e.unwrap().file_name().to_string_lossy()))
        .collect();
    files.sort();
    for f in &files {
        assert!(
            cases.iter().any(|(input, _, _)| input == f),
            "{f} is not used by any case in health_test.yaml"
        );
    }
    for (input, _, _) in &cases {
        assert!(files.contains(input), "{input} does not exist");
    }
}

/// Runs `script` (Lua source) on `object` (JSON) and returns (status, message).
fn health_of(script: &str, object: &serde_json::Value, extra: &[&str]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let script_path = dir.path().join("health.lua");
    let object_path = dir.path().join("object.json");
    std::fs::write(&script_path, script).unwrap();
    std::fs::write(&object_path, serde_json::to_vec(object).unwrap()).unwrap();
    let mut args = vec![
        "--script",
        script_path.to_str().unwrap(),
        "--object",
        object_path.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    argocd_health(&args)
}

fn status_message(out: &Output) -> (String, String) {
    assert!(out.status.success(), "{}", text(out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: not JSON\n{}", text(out)));
    (
        v["status"].as_str().unwrap().to_string(),
        v["message"].as_str().unwrap().to_string(),
    )
}

#[test]
fn a_null_field_and_odd_characters_survive_the_conversion() {
    let script = std::fs::read_to_string(argocd_dir().join("health.lua")).unwrap();
    let obj = serde_json::json!({
        "metadata": {"generation": 1, "deletionTimestamp": null},
        "status": {"observedGeneration": 1, "conditions": [
            {"type": "Ready", "status": "True", "reason": "Synced", "message": "q\"uote \\ back\nslash é"}
        ]},
    });
    assert_eq!(
        status_message(&health_of(&script, &obj, &[])),
        ("Healthy".into(), "q\"uote \\ back\nslash é".into())
    );
}

#[test]
fn the_interpreter_is_argo_cds_restricted_one() {
    let obj = serde_json::json!({"metadata": {"name": "x", "generation": 2}});
    // What a script in argocd-cm sees: no string, math or io library, no global os; `require("os")`
    // gives Argo CD's safe subset; obj is a table with numbers as numbers.
    let probe = r#"
        local os = require("os")
        local parts = {type(string), type(math), type(io), type(_G.os), type(os.time), type(os.exit),
                       type(obj.metadata.generation)}
        return {status = "Healthy", message = table.concat(parts, ",")}
    "#;
    assert_eq!(
        status_message(&health_of(probe, &obj, &[])).1,
        "nil,nil,nil,nil,function,nil,number"
    );
    // With useOpenLibs (Argo CD's built-in scripts), the standard libraries are there, global os
    // included; `require("os")` still gives the safe subset, because Argo CD re-opens `package`
    // (a fresh package.loaded) after the standard libraries and preloads its own os.
    assert_eq!(
        status_message(&health_of(probe, &obj, &["--use-open-libs"])).1,
        "table,table,table,table,function,nil,number"
    );
    // Argo CD's return handling: an unknown status becomes Unknown, a non-table is an error.
    assert_eq!(
        status_message(&health_of(r#"return {status = "Fine"}"#, &obj, &[])),
        (
            "Unknown".into(),
            "Lua returned an invalid health status".into()
        )
    );
    let not_a_table = health_of("return 5", &obj, &[]);
    assert!(!not_a_table.status.success(), "{}", text(&not_a_table));
    assert!(
        String::from_utf8_lossy(&not_a_table.stderr)
            .contains("expect table output from Lua script, not number"),
        "{}",
        text(&not_a_table)
    );
    // The 1 s timeout stops a runaway script.
    let started = std::time::Instant::now();
    let runaway = health_of("while true do end", &obj, &[]);
    assert!(!runaway.status.success(), "{}", text(&runaway));
    assert!(
        String::from_utf8_lossy(&runaway.stderr).contains("context deadline exceeded"),
        "{}",
        text(&runaway)
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}
