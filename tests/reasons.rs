//! Every reason a user can see is defined once (`api::reasons`), and what users read agrees with
//! it: the README's reason tables (the Ready reasons, the Events, and every other table with a
//! reason column), and the reasons Argo CD's health check (`hack/argocd/health.lua`) tests for.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use infisical_oidc_operator::api::conditions::{READY, RECONCILING, STALLED};
use infisical_oidc_operator::api::reasons::{EVENT_REASONS, READY_REASONS};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The code spans of a Markdown table cell.
fn code_spans(cell: &str) -> Vec<String> {
    cell.split('`')
        .enumerate()
        .filter(|(i, _)| i % 2 == 1)
        .map(|(_, span)| span.to_string())
        .collect()
}

fn is_reason_like(text: &str) -> bool {
    text.starts_with(|c: char| c.is_ascii_uppercase())
        && text.chars().all(|c| c.is_ascii_alphanumeric())
}

/// The README's tables: each a header and its rows, as cells.
fn tables(markdown: &str) -> Vec<(Vec<String>, Vec<Vec<String>>)> {
    let cells = |line: &str| -> Vec<String> {
        line.trim()
            .trim_matches('|')
            .split('|')
            .map(|c| c.trim().to_string())
            .collect()
    };
    let mut found = Vec::new();
    let mut lines = markdown.lines().peekable();
    while let Some(line) = lines.next() {
        let is_header = line.trim_start().starts_with('|')
            && lines
                .peek()
                .is_some_and(|next| next.trim_start().starts_with("| ---"));
        if !is_header {
            continue;
        }
        let header = cells(line);
        lines.next();
        let mut rows = Vec::new();
        while let Some(row) = lines.peek().filter(|l| l.trim_start().starts_with('|')) {
            rows.push(cells(row));
            lines.next();
        }
        found.push((header, rows));
    }
    found
}

fn first_column(table: &(Vec<String>, Vec<Vec<String>>)) -> BTreeSet<String> {
    table.1.iter().flat_map(|row| code_spans(&row[0])).collect()
}

fn table_with_header<'a>(
    tables: &'a [(Vec<String>, Vec<Vec<String>>)],
    header: &[&str],
) -> &'a (Vec<String>, Vec<Vec<String>>) {
    tables
        .iter()
        .find(|(h, _)| h.iter().map(String::as_str).eq(header.iter().copied()))
        .unwrap_or_else(|| panic!("README has no table headed {header:?}"))
}

fn set(reasons: &[&str]) -> BTreeSet<String> {
    reasons.iter().map(|r| r.to_string()).collect()
}

#[test]
fn the_readme_lists_exactly_the_ready_reasons_and_the_event_reasons() {
    let readme = read("README.md");
    let tables = tables(&readme);
    let ready = first_column(table_with_header(
        &tables,
        &["reason", "class", "meaning", "what to do"],
    ));
    assert_eq!(
        ready,
        set(READY_REASONS),
        "README's reason table (left) and api::reasons::READY_REASONS (right) differ"
    );
    let events = first_column(table_with_header(&tables, &["Event", "type", "when"]));
    assert_eq!(
        events,
        set(EVENT_REASONS),
        "README's Event table (left) and api::reasons::EVENT_REASONS (right) differ"
    );
}

#[test]
fn every_reason_the_readme_names_in_a_reason_column_is_defined() {
    let readme = read("README.md");
    let known: BTreeSet<String> = set(READY_REASONS)
        .union(&set(EVENT_REASONS))
        .cloned()
        .collect();
    let mut checked = 0;
    for (header, rows) in tables(&readme) {
        let Some(column) = header.iter().position(|h| h.eq_ignore_ascii_case("reason")) else {
            continue;
        };
        for row in rows {
            // The reason comes first in its cell; what follows may be Infisical's own error
            // names (`KubernetesTokenReviewError`), which are not reasons of this operator.
            let Some(reason) = code_spans(&row[column])
                .into_iter()
                .find(|span| is_reason_like(span))
            else {
                continue;
            };
            assert!(
                known.contains(&reason),
                "README names reason {reason:?} (row {row:?}), which api::reasons does not define"
            );
            checked += 1;
        }
    }
    assert!(
        checked > 40,
        "only {checked} reasons found in README tables"
    );
}

#[test]
fn the_argo_cd_health_check_tests_only_defined_reasons_and_condition_types() {
    let script = read("hack/argocd/health.lua");
    let literals_after = |marker: &str| -> Vec<String> {
        script
            .match_indices(marker)
            .filter_map(|(at, _)| {
                let rest = &script[at + marker.len()..];
                let rest = rest.trim_start().strip_prefix('"')?;
                Some(rest[..rest.find('"')?].to_string())
            })
            .collect()
    };
    let reasons = literals_after(".reason ==");
    assert!(!reasons.is_empty(), "health.lua tests no reason");
    for reason in reasons {
        assert!(
            READY_REASONS.contains(&reason.as_str()),
            "health.lua tests reason {reason:?}, which is not a Ready reason"
        );
    }
    let types = literals_after("condition(conditions,");
    assert_eq!(
        types.iter().map(String::as_str).collect::<BTreeSet<_>>(),
        BTreeSet::from([READY, RECONCILING, STALLED]),
        "health.lua reads other condition types than the operator writes"
    );
}

/// The source without comments and test modules (kept at the end of a file).
fn code(text: &str) -> String {
    let mut out = Vec::new();
    let mut previous = "";
    for line in text.lines() {
        let trimmed = line.trim_start();
        if previous.starts_with("#[cfg(test)]") && trimmed.contains("mod ") {
            out.pop();
            break;
        }
        previous = trimmed;
        if !trimmed.starts_with("//") {
            out.push(line);
        }
    }
    out.join("\n")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_reason_is_spelled_out_anywhere_but_in_api_reasons() {
    let home = repo().join("src/api/reasons.rs");
    let defined = read("src/api/reasons.rs");
    // Every constant there is in one of the lists, and every listed reason is a constant there.
    let constants: BTreeSet<String> = defined
        .lines()
        .filter_map(|line| {
            let rest = line.trim().strip_prefix("pub const ")?;
            let (_, value) = rest.split_once(": &str = \"")?;
            Some(value.trim_end_matches("\";").to_string())
        })
        .collect();
    let listed: BTreeSet<String> = set(READY_REASONS)
        .union(&set(EVENT_REASONS))
        .cloned()
        .collect();
    assert_eq!(
        constants, listed,
        "a reason constant is missing from the lists, or the reverse"
    );

    let mut files = Vec::new();
    rust_files(&repo().join("src"), &mut files);
    let mut spelled = Vec::new();
    for file in files.iter().filter(|f| **f != home) {
        let text = code(&std::fs::read_to_string(file).unwrap());
        for reason in &listed {
            if text.contains(&format!("\"{reason}\"")) {
                spelled.push(format!(
                    "{}: \"{reason}\"",
                    file.strip_prefix(repo()).unwrap().display()
                ));
            }
        }
    }
    assert!(
        spelled.is_empty(),
        "reasons spelled out instead of named from api::reasons:\n{}",
        spelled.join("\n")
    );
}
