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
