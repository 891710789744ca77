//! The Argo CD health check (`hack/argocd/health.lua`) against its own test cases
//! (`hack/argocd/health_test.yaml`, Argo CD's `resource_customizations` shape).
//!
//! Argo CD evaluates health checks with gopher-lua (Lua 5.1) and only the base, table,
//! string and math libraries; this test runs the script under `lua5.1` in an environment
//! limited the same way, with `obj` bound to each test manifest. Needs `lua5.1`
//! (`hack/tools.sh` installs it).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_yaml::Value;

fn argocd_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("hack/argocd")
}

/// A Lua string literal for `s` (decimal escapes for anything unusual, so any input is safe).
fn lua_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for b in s.bytes() {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\{b:03}")),
        }
    }
    out.push('"');
    out
}

/// A Lua table constructor equivalent to the YAML value, as Argo CD hands `obj` to the script
/// (objects become tables with string keys, lists become 1-based arrays, null becomes nil).
fn to_lua(v: &Value) -> String {
    match v {
        Value::Null => "nil".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.to_string()
            } else if let Some(u) = n.as_u64() {
                u.to_string()
            } else {
                let f = n.as_f64().expect("a YAML number is i64, u64 or f64");
                assert!(f.is_finite(), "non-finite number {f} in test data");
                format!("{f:?}")
            }
        }
        Value::String(s) => lua_string(s),
        Value::Sequence(items) => {
            let parts: Vec<String> = items.iter().map(to_lua).collect();
            format!("{{{}}}", parts.join(", "))
        }
        Value::Mapping(m) => {
            let parts: Vec<String> = m
                .iter()
                .map(|(k, v)| {
                    let key = match k {
                        Value::String(s) => s.clone(),
                        other => panic!("non-string key {other:?} in test data"),
                    };
                    format!("[{}] = {}", lua_string(&key), to_lua(v))
                })
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
        Value::Tagged(t) => to_lua(&t.value),
    }
}

/// Runs health.lua with `obj` bound to `obj`; returns (status, message).
fn run_health(script: &Path, obj: &Value) -> (String, String) {
    let driver = format!(
        r#"
local obj = {obj}
local chunk = assert(loadfile({script}))
-- Only what Argo CD's gopher-lua VM offers a health script.
local env = {{
  obj = obj, assert = assert, error = error, ipairs = ipairs, next = next, pairs = pairs,
  pcall = pcall, select = select, tonumber = tonumber, tostring = tostring, type = type,
  unpack = unpack, string = string, table = table, math = math,
}}
setfenv(chunk, env)
local hs = chunk()
assert(type(hs) == "table", "health.lua must return a table, got " .. type(hs))
io.write(tostring(hs.status), "\n", tostring(hs.message))
"#,
        obj = to_lua(obj),
        script = lua_string(script.to_str().expect("utf-8 path")),
    );
    let mut child = match Command::new("lua5.1")
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            panic!("lua5.1 is not installed: run hack/tools.sh")
        }
        Err(e) => panic!("cannot run lua5.1: {e}"),
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(driver.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "lua5.1 failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let (status, message) = stdout.split_once('\n').expect("status and message");
    (status.to_string(), message.to_string())
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
fn every_case_in_health_test_yaml_passes() {
    let dir = argocd_dir();
    let script = dir.join("health.lua");
    let cases = load_cases();
    assert!(!cases.is_empty(), "health_test.yaml has no tests");
    let mut failures = Vec::new();
    for (input, want_status, want_message) in &cases {
        let text = std::fs::read_to_string(dir.join(input))
            .unwrap_or_else(|e| panic!("read {input}: {e}"));
        let obj: Value = serde_yaml::from_str(&text).unwrap();
        let (status, message) = run_health(&script, &obj);
        if &status != want_status || &message != want_message {
            failures.push(format!(
                "{input}:\n  want {want_status}: {want_message}\n  got  {status}: {message}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
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

#[test]
fn a_null_field_and_odd_characters_survive_the_conversion() {
    let obj: Value = serde_yaml::from_str(
        "metadata: {generation: 1, deletionTimestamp: null}\n\
         status:\n  observedGeneration: 1\n  conditions:\n  - {type: Ready, status: 'True', reason: Synced, message: \"q\\\"uote \\\\ back\\nslash é\"}\n",
    )
    .unwrap();
    let (status, message) = run_health(&argocd_dir().join("health.lua"), &obj);
    assert_eq!(status, "Healthy");
    assert_eq!(message, "q\"uote \\ back\nslash é");
}
