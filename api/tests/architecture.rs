//! The api crate's modules import each other without a circle: every file
//! that names `crate::x::…` (or `super::x` inside a folder) depends on that
//! module's file, and the dependency graph over `api/src` is acyclic. Test
//! modules (`#[cfg(test)]` onwards) and comments are not read.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

fn modules(dir: &Path, prefix: &str, out: &mut BTreeMap<String, String>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        if path.is_dir() {
            modules(&path, &format!("{prefix}{name}::"), out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let module = match name.as_str() {
                "lib" | "main" if prefix.is_empty() => continue,
                "mod" => prefix.trim_end_matches("::").to_owned(),
                _ => format!("{prefix}{name}"),
            };
            let text = std::fs::read_to_string(&path).unwrap();
            let code: String = text
                .split("#[cfg(test)]")
                .next()
                .unwrap()
                .lines()
                .filter(|l| !l.trim_start().starts_with("//"))
                .collect::<Vec<_>>()
                .join("\n");
            out.insert(module, code);
        }
    }
}

/// The module a path `a::b::c` (after `crate::`) lands in: its longest prefix that is a module.
fn target(path: &str, known: &BTreeMap<String, String>) -> Option<String> {
    let parts: Vec<&str> = path.split("::").collect();
    (1..=parts.len())
        .rev()
        .map(|n| parts[..n].join("::"))
        .find(|m| known.contains_key(m))
}

fn paths_after(code: &str, marker: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, _) in code.match_indices(marker) {
        let rest = &code[i + marker.len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // `use crate::{a::B, c};`
            let inner = &group[..group.find('}').unwrap_or(group.len())];
            out.extend(inner.split(',').map(|p| p.trim().to_owned()));
        } else {
            let end = rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .unwrap_or(rest.len());
            out.push(rest[..end].trim_end_matches(':').to_owned());
        }
    }
    out
}

#[test]
fn no_import_cycle_among_api_modules() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut known = BTreeMap::new();
    modules(&src, "", &mut known);
    let mut deps: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, code) in &known {
        let mut targets: Vec<String> = paths_after(code, "crate::");
        let parent = module.rsplit_once("::").map(|(p, _)| p.to_owned());
        if let Some(parent) = &parent {
            targets.extend(
                paths_after(code, "super::")
                    .into_iter()
                    .map(|p| format!("{parent}::{p}")),
            );
        }
        for t in targets {
            if let Some(m) = target(&t, &known)
                && &m != module
                && !module.starts_with(&format!("{m}::"))
            {
                deps.entry(module.clone()).or_default().insert(m);
            }
        }
    }
    // Depth-first search for a back edge.
    fn visit(
        m: &str,
        deps: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(m.to_owned(), 1);
        stack.push(m.to_owned());
        for d in deps.get(m).into_iter().flatten() {
            match state.get(d.as_str()).copied().unwrap_or(0) {
                1 => {
                    let from = stack.iter().position(|s| s == d).unwrap();
                    let mut circle = stack[from..].to_vec();
                    circle.push(d.clone());
                    return Some(circle);
                }
                0 => {
                    if let Some(c) = visit(d, deps, state, stack) {
                        return Some(c);
                    }
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(m.to_owned(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for m in known.keys() {
        if state.get(m.as_str()).copied().unwrap_or(0) == 0
            && let Some(circle) = visit(m, &deps, &mut state, &mut Vec::new())
        {
            panic!("import circle: {}", circle.join(" -> "));
        }
    }
    // The test reads what it should: the engine depends on the state, the state on the index.
    assert!(deps["dispatch::pass"].contains("state"));
    assert!(deps["state"].contains("dispatch::index"));
}

/// The code of every `.rs` file below `api/src/{dir}` (tests cut off), by path.
fn sources(dir: &str) -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut known = BTreeMap::new();
    if root.join(dir).is_dir() {
        modules(&root.join(dir), &format!("{dir}::"), &mut known);
    }
    if let Ok(text) = std::fs::read_to_string(root.join(format!("{dir}.rs"))) {
        known.insert(dir.to_owned(), text);
    }
    known.into_iter().collect()
}

#[test]
fn the_lifecycle_services_and_dispatch_know_no_http() {
    for dir in [
        "lifecycle",
        "services",
        "dispatch",
        "state",
        "messages",
        "location",
    ] {
        for (module, code) in sources(dir) {
            for word in ["actix_web", "actix_ws", "HttpRequest", "HttpResponse"] {
                assert!(
                    !code.contains(word),
                    "{module} names {word}: HTTP belongs to routes, extract, ws and http_guard"
                );
            }
        }
    }
    assert!(!sources("lifecycle").is_empty() && !sources("services").is_empty());
}

#[test]
fn only_the_status_machine_writes_an_order_status() {
    let mut writers = Vec::new();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut all = BTreeMap::new();
    modules(&root, "", &mut all);
    for (module, code) in &all {
        let flat: String = code.split_whitespace().collect();
        if flat.contains("col_expr(order::Column::Status") {
            writers.push(module.clone());
        }
    }
    assert_eq!(writers, ["services::orders::status"]);
}

#[test]
fn the_pure_crates_stay_pure() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let deps = |krate: &str| {
        let toml = std::fs::read_to_string(root.join(krate).join("Cargo.toml")).unwrap();
        let section = toml.split("[dependencies]").nth(1).unwrap_or("");
        section.split("\n[").next().unwrap_or("").to_owned()
    };
    for krate in ["domain", "matcher"] {
        let d = deps(krate);
        for io in [
            "sea-orm",
            "tokio",
            "actix",
            "redis",
            "reqwest",
            "serde_json",
            "zhongdui-api",
        ] {
            assert!(
                !d.contains(io),
                "{krate} depends on {io}: it must do no I/O"
            );
        }
    }
    assert!(
        !deps("migration").contains("zhongdui-api"),
        "migrations never import the api"
    );
    assert!(
        deps("matcher").contains("rstar"),
        "the test reads the dependency lists"
    );
}

#[test]
fn after_commit_effects_only_in_work() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut all = BTreeMap::new();
    modules(&root, "", &mut all);
    let effects = [
        "location::claimed(",
        "location::released(",
        "location::changed(",
        "cache::add(",
        "dispatcher.wake.notify_one(",
    ];
    let mut callers = BTreeSet::new();
    for (module, code) in &all {
        if effects.iter().any(|e| code.contains(e)) {
            callers.insert(module.as_str());
        }
    }
    assert_eq!(callers, BTreeSet::from(["lifecycle::work"]));
}
