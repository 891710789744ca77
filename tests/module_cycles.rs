//! No module of the operator's library depends, through any chain of imports, on a module that
//! depends on it: each file can be read knowing only the files below it.
//!
//! The check reads the source as text, as a reader does: a file depends on another when it names
//! an item through a path that reaches that file (`crate::…`, `super::…`, `self::…`, or a child
//! module declared in the file), in `use` lines and in code alike, with `{…}` groups expanded.
//! Comments and the file's test module (kept at the end of a file, after `#[cfg(test)]`) do not
//! count. Binaries (`main.rs`, `bin/`) are crates of their own and are left out.
//!
//! `module_cycles` takes any crate's source directory; the same check holds the emulator's.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The cycles among the modules of the crate whose `lib.rs` is in `dir`: each a list of files
/// (relative to `dir`) that reach one another, with the names one takes from the next.
fn module_cycles(dir: &Path) -> Vec<String> {
    let graph = Graph::read(dir);
    graph
        .strongly_connected()
        .into_iter()
        .filter(|component| component.len() > 1)
        .map(|component| graph.describe(&component))
        .collect()
}

/// A module: its path below the crate root (`[]` for `lib.rs`, `["reconcile", "report"]`).
type Module = Vec<String>;

struct Graph {
    files: BTreeMap<Module, PathBuf>,
    /// module → (module it names → the paths it names there).
    edges: BTreeMap<Module, BTreeMap<Module, BTreeSet<String>>>,
    root: PathBuf,
}

impl Graph {
    fn read(root: &Path) -> Self {
        let mut files = BTreeMap::new();
        collect(root, root, &mut files);
        let mut graph = Self {
            files,
            edges: BTreeMap::new(),
            root: root.to_path_buf(),
        };
        let modules: Vec<(Module, PathBuf)> = graph
            .files
            .iter()
            .map(|(m, p)| (m.clone(), p.clone()))
            .collect();
        for (module, path) in modules {
            let text = std::fs::read_to_string(&path).unwrap();
            let code = code_of(&text);
            let children = child_modules(&code);
            let mut out: BTreeMap<Module, BTreeSet<String>> = BTreeMap::new();
            for named in paths_in(&code, &children) {
                let Some(target) = graph.resolve(&module, &named) else {
                    continue;
                };
                if target != module {
                    out.entry(target).or_default().insert(named.join("::"));
                }
            }
            graph.edges.insert(module, out);
        }
        graph
    }

    /// The deepest module file that `path`, named inside `from`, reaches.
    fn resolve(&self, from: &Module, path: &[String]) -> Option<Module> {
        let mut segments = path.iter().peekable();
        let mut at: Module = match segments.peek().map(|s| s.as_str()) {
            Some("crate") => {
                segments.next();
                Vec::new()
            }
            Some("self") => {
                segments.next();
                from.clone()
            }
            Some("super") => {
                let mut at = from.clone();
                while segments.peek().map(|s| s.as_str()) == Some("super") {
                    segments.next();
                    at.pop()?;
                }
                at
            }
            // A child module named directly.
            Some(_) => from.clone(),
            None => return None,
        };
        for segment in segments {
            let mut deeper = at.clone();
            deeper.push(segment.clone());
            if self.files.contains_key(&deeper) {
                at = deeper;
            } else {
                break;
            }
        }
        Some(at)
    }

    /// Tarjan's algorithm, iteratively small enough to recurse: a crate has tens of modules.
    fn strongly_connected(&self) -> Vec<Vec<Module>> {
        struct State<'a> {
            graph: &'a Graph,
            index: BTreeMap<&'a Module, usize>,
            low: BTreeMap<&'a Module, usize>,
            stack: Vec<&'a Module>,
            on_stack: BTreeSet<&'a Module>,
            next: usize,
            found: Vec<Vec<Module>>,
        }
        fn visit<'a>(s: &mut State<'a>, v: &'a Module) {
            s.index.insert(v, s.next);
            s.low.insert(v, s.next);
            s.next += 1;
            s.stack.push(v);
            s.on_stack.insert(v);
            for w in s.graph.edges.get(v).into_iter().flat_map(|e| e.keys()) {
                if !s.index.contains_key(w) {
                    visit(s, w);
                    let low = s.low[v].min(s.low[w]);
                    s.low.insert(v, low);
                } else if s.on_stack.contains(w) {
                    let low = s.low[v].min(s.index[w]);
                    s.low.insert(v, low);
                }
            }
            if s.low[v] == s.index[v] {
                let mut component = Vec::new();
                while let Some(w) = s.stack.pop() {
                    s.on_stack.remove(w);
                    component.push(w.clone());
                    if w == v {
                        break;
                    }
                }
                component.sort();
                s.found.push(component);
            }
        }
        let mut state = State {
            graph: self,
            index: BTreeMap::new(),
            low: BTreeMap::new(),
            stack: Vec::new(),
            on_stack: BTreeSet::new(),
            next: 0,
            found: Vec::new(),
        };
        for module in self.files.keys() {
            if !state.index.contains_key(module) {
                visit(&mut state, module);
            }
        }
        state.found
    }

    fn name(&self, module: &Module) -> String {
        self.files[module]
            .strip_prefix(&self.root)
            .unwrap()
            .display()
            .to_string()
    }

    fn describe(&self, component: &[Module]) -> String {
        let members: BTreeSet<&Module> = component.iter().collect();
        let mut text = format!(
            "{} files reach one another: {}",
            component.len(),
            component
                .iter()
                .map(|m| self.name(m))
                .collect::<Vec<_>>()
                .join(", ")
        );
        for from in component {
            for (to, names) in &self.edges[from] {
                if members.contains(to) {
                    let names: Vec<&str> = names.iter().map(String::as_str).collect();
                    text.push_str(&format!(
                        "\n  {} -> {}: {}",
                        self.name(from),
                        self.name(to),
                        names.join(", ")
                    ));
                }
            }
        }
        text
    }
}

/// Every library module file below `dir`, by module path.
fn collect(root: &Path, dir: &Path, files: &mut BTreeMap<Module, PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        let relative = path.strip_prefix(root).unwrap();
        if path.is_dir() {
            if relative != Path::new("bin") {
                collect(root, &path, files);
            }
            continue;
        }
        if path.extension().and_then(|e| e.to_str()) != Some("rs")
            || relative == Path::new("main.rs")
        {
            continue;
        }
        let mut module: Module = relative
            .with_extension("")
            .iter()
            .map(|s| s.to_string_lossy().into_owned())
            .collect();
        if matches!(module.last().map(String::as_str), Some("mod" | "lib")) {
            module.pop();
        }
        files.insert(module, path);
    }
}

/// The file without comments, string contents and its test module.
fn code_of(text: &str) -> String {
    let mut lines = Vec::new();
    let mut after_cfg_test = false;
    for line in text.lines() {
        let trimmed = line.trim_start();
        if after_cfg_test && (trimmed.starts_with("mod ") || trimmed.contains(" mod ")) {
            lines.pop();
            break;
        }
        after_cfg_test = trimmed.starts_with("#[cfg(test)]");
        lines.push(line);
    }
    let text = lines.join("\n");
    // Drop comments and the contents of string and character literals (a path in a message is
    // not a dependency).
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '/' if chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut previous = ' ';
                for c in chars.by_ref() {
                    if previous == '*' && c == '/' {
                        break;
                    }
                    previous = c;
                }
            }
            '"' => {
                let mut escaped = false;
                for c in chars.by_ref() {
                    match c {
                        '\\' if !escaped => escaped = true,
                        '"' if !escaped => break,
                        _ => escaped = false,
                    }
                }
                out.push_str("\"\"");
            }
            _ => out.push(c),
        }
    }
    out
}

/// Names of the modules declared in a file (`mod x;`, `pub mod x;`).
fn child_modules(code: &str) -> BTreeSet<String> {
    code.lines()
        .filter_map(|line| {
            let line = line.trim();
            let rest = line.strip_prefix("pub ").unwrap_or(line);
            let rest = rest.strip_prefix("pub(crate) ").unwrap_or(rest);
            let name = rest.strip_prefix("mod ")?.strip_suffix(';')?;
            Some(name.trim().to_string())
        })
        .collect()
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Every path that starts at `crate`, `super`, `self` or a declared child module, with `{…}`
/// groups expanded into one path per member.
fn paths_in(code: &str, children: &BTreeSet<String>) -> Vec<Vec<String>> {
    let chars: Vec<char> = code.chars().collect();
    let mut found = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let starts_word = is_ident(chars[i]) && (i == 0 || !is_ident(chars[i - 1]));
        // Not the tail of a longer path (`kube::api`), nor a field or method (`.api`).
        let follows_path = i >= 2 && chars[i - 1] == ':' && chars[i - 2] == ':';
        let follows_dot = i >= 1 && chars[i - 1] == '.';
        if !starts_word || follows_path || follows_dot {
            i += 1;
            continue;
        }
        let mut end = i;
        while end < chars.len() && is_ident(chars[end]) {
            end += 1;
        }
        let word: String = chars[i..end].iter().collect();
        let is_start =
            matches!(word.as_str(), "crate" | "super" | "self") || children.contains(&word);
        let continues = end + 1 < chars.len() && chars[end] == ':' && chars[end + 1] == ':';
        if is_start && continues {
            let (paths, after) = path_at(&chars, i);
            found.extend(paths);
            i = after;
        } else {
            i = end;
        }
    }
    found
}

/// The path (or paths, for a group) starting at `start`, and where it ends.
fn path_at(chars: &[char], start: usize) -> (Vec<Vec<String>>, usize) {
    let mut prefix = Vec::new();
    let mut i = start;
    loop {
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        if i < chars.len() && chars[i] == '{' {
            let (members, after) = group_at(chars, i + 1);
            let paths = members
                .into_iter()
                .map(|member| {
                    let mut path = prefix.clone();
                    path.extend(member.into_iter().filter(|s| s != "self"));
                    path
                })
                .collect();
            return (paths, after);
        }
        let begin = i;
        while i < chars.len() && is_ident(chars[i]) {
            i += 1;
        }
        if begin == i {
            return (vec![prefix], i);
        }
        prefix.push(chars[begin..i].iter().collect());
        if i + 1 < chars.len() && chars[i] == ':' && chars[i + 1] == ':' {
            i += 2;
        } else {
            return (vec![prefix], i);
        }
    }
}

/// The members of a `{…}` group whose contents start at `start`, each a path relative to the
/// group's prefix, and the position after the closing brace.
fn group_at(chars: &[char], start: usize) -> (Vec<Vec<String>>, usize) {
    let mut members = Vec::new();
    let mut i = start;
    loop {
        while i < chars.len() && (chars[i].is_whitespace() || chars[i] == ',') {
            i += 1;
        }
        if i >= chars.len() {
            return (members, i);
        }
        if chars[i] == '}' {
            return (members, i + 1);
        }
        if chars[i] == '*' {
            members.push(Vec::new());
            i += 1;
            continue;
        }
        let (paths, after) = path_at(chars, i);
        members.extend(paths);
        i = after;
        // `Name as Alias`
        while i < chars.len() && chars[i] != ',' && chars[i] != '}' {
            i += 1;
        }
        if after == i && i < chars.len() && chars[i] != ',' && chars[i] != '}' {
            i += 1;
        }
    }
}

fn crate_dir(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

#[test]
fn the_operator_library_has_no_module_cycle() {
    let cycles = module_cycles(&crate_dir("src"));
    assert!(
        cycles.is_empty(),
        "module cycles in src/ (break each by moving what both sides need below them):\n{}",
        cycles.join("\n")
    );
}

#[test]
fn the_emulator_library_has_no_module_cycle() {
    let cycles = module_cycles(&crate_dir("emulator/src"));
    assert!(
        cycles.is_empty(),
        "module cycles in emulator/src/ (break each by moving what both sides need below them):\n{}",
        cycles.join("\n")
    );
}

/// The check itself: it must see a cycle through each kind of path it reads.
#[test]
fn the_check_finds_cycles_through_every_kind_of_path() {
    let cases: [(&str, &[(&str, &str)]); 4] = [
        (
            "crate paths in use lines and in code",
            &[
                ("lib.rs", "pub mod a;\npub mod b;\n"),
                ("a.rs", "use crate::b::Thing;\n"),
                ("b.rs", "pub struct Thing;\nfn f() { crate::a::g(); }\n"),
            ],
        ),
        (
            "super paths and groups",
            &[
                ("lib.rs", "pub mod m;\n"),
                ("m/mod.rs", "pub mod a;\npub mod b;\nuse self::a::X;\n"),
                ("m/a.rs", "use super::{b::Y, Z};\npub struct X;\n"),
                ("m/b.rs", "pub struct Y;\n"),
            ],
        ),
        (
            "a child module named directly",
            &[
                ("lib.rs", "pub mod m;\n"),
                ("m/mod.rs", "mod a;\npub use a::X;\npub struct Z;\n"),
                ("m/a.rs", "pub struct X(super::Z);\n"),
            ],
        ),
        (
            "three files in a circle",
            &[
                ("lib.rs", "mod a;\nmod b;\nmod c;\n"),
                ("a.rs", "use crate::{b::B};\n"),
                ("b.rs", "pub struct B(crate::c::C);\n"),
                (
                    "c.rs",
                    "pub struct C;\nimpl C { fn f() -> crate::a::A { todo!() } }\n",
                ),
            ],
        ),
    ];
    for (case, files) in cases {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        let cycles = module_cycles(dir.path());
        assert_eq!(cycles.len(), 1, "{case}: {cycles:?}");
    }
}

/// What must not count: comments, strings, test modules, paths of other crates, a module that
/// uses its own items, and binaries.
#[test]
fn the_check_ignores_what_is_not_a_dependency() {
    let files: &[(&str, &str)] = &[
        ("lib.rs", "pub mod a;\npub mod b;\n"),
        (
            "a.rs",
            "use crate::b::B;\n// crate::b is fine, and so is this: crate::a\n/// see [`crate::b`]\n",
        ),
        (
            "b.rs",
            "pub struct B;\nfn f() { let _ = \"crate::a::x\"; kube::api::x(); self::g(); x.super_thing(); }\nfn g() {}\n#[cfg(test)]\nmod tests {\n    use crate::a::*;\n}\n",
        ),
        ("main.rs", "use crate::a;\n"),
        ("bin/tool.rs", "use crate::a;\n"),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    assert_eq!(module_cycles(dir.path()), Vec::<String>::new());
}
