//! The crate's shape, read from its source: no import circle between the top-level modules of
//! `src/`, and each vendor named outside its own folder in three files at most (the registry
//! of vendors, `ProviderKind`, the crate root). See `docs/adding-a-vendor.md`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`.
fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("a source folder") {
            let path = entry.expect("an entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// The module path of a file under `src/`: `src/engine/pacing/mod.rs` is `engine::pacing`.
fn module_path(src: &Path, file: &Path) -> Vec<String> {
    let relative = file.strip_prefix(src).expect("under src");
    let mut parts: Vec<String> = relative
        .iter()
        .map(|part| part.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().expect("a file name");
    let stem = last.trim_end_matches(".rs");
    if stem != "mod" && stem != "lib" {
        parts.push(stem.to_owned());
    }
    parts
}

/// The file's code without comments (line comments, doc comments; string literals are kept).
fn code(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let mut in_string = false;
        let mut previous = ' ';
        let mut kept = String::new();
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '"' && previous != '\\' {
                in_string = !in_string;
            }
            if !in_string && c == '/' && chars.peek() == Some(&'/') {
                break;
            }
            kept.push(c);
            previous = if previous == '\\' && c == '\\' {
                ' '
            } else {
                c
            };
        }
        out.push_str(&kept);
        out.push('\n');
    }
    out
}

/// The names the crate root re-exports, with the top-level module that defines each.
fn root_names(lib: &str) -> BTreeMap<String, String> {
    let mut names = BTreeMap::new();
    let code = code(lib);
    let mut rest = code.as_str();
    while let Some(at) = rest.find("pub use ") {
        rest = &rest[at + "pub use ".len()..];
        let end = rest.find(';').unwrap_or(rest.len());
        let item = &rest[..end];
        let module = item.split("::").next().unwrap_or("").trim().to_owned();
        let listed = match (item.find('{'), item.rfind('}')) {
            (Some(open), Some(close)) => item[open + 1..close].to_owned(),
            _ => item.rsplit("::").next().unwrap_or("").to_owned(),
        };
        for name in listed.split(',') {
            let name = name.split(" as ").last().unwrap_or("").trim();
            let name = if name == "self" {
                item.split("::").nth(1).unwrap_or("").trim()
            } else {
                name
            };
            if !name.is_empty() {
                names.insert(name.to_owned(), module.clone());
            }
        }
    }
    names
}

/// The identifiers that follow each occurrence of `prefix` in `code`.
fn after<'a>(code: &'a str, prefix: &str) -> Vec<&'a str> {
    let mut found = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find(prefix) {
        let before = rest[..at].chars().last();
        rest = &rest[at + prefix.len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        found.push(rest);
    }
    found
}

/// The first path segment of `text`, or the segments of a `{...}` list at its start.
fn segments(text: &str) -> Vec<String> {
    let text = text.trim_start();
    if let Some(list) = text.strip_prefix('{') {
        let end = list.find('}').unwrap_or(list.len());
        return list[..end]
            .split(',')
            .filter_map(|item| item.split("::").next())
            .map(|item| item.trim().to_owned())
            .filter(|item| !item.is_empty())
            .collect();
    }
    let end = text
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    vec![text[..end].to_owned()]
}

struct Crate {
    src: PathBuf,
    /// Per file: its module path and its code.
    files: Vec<(PathBuf, Vec<String>, String)>,
    top_modules: BTreeSet<String>,
    root_names: BTreeMap<String, String>,
}

fn read_crate() -> Crate {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib = std::fs::read_to_string(src.join("lib.rs")).expect("lib.rs");
    let files: Vec<_> = sources(&src)
        .into_iter()
        .map(|file| {
            let text = std::fs::read_to_string(&file).expect("a source file");
            let module = module_path(&src, &file);
            (file, module, code(&text))
        })
        .collect();
    let top_modules = files
        .iter()
        .filter_map(|(_, module, _)| module.first().cloned())
        .collect();
    Crate {
        src,
        files,
        top_modules,
        root_names: root_names(&lib),
    }
}

/// The top-level modules each top-level module imports (`crate::`, `$crate::`, `super::` up to
/// the root, and names taken through the crate root's re-exports).
fn imports(krate: &Crate) -> BTreeMap<String, BTreeSet<String>> {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (_, module, code) in &krate.files {
        let Some(top) = module.first() else { continue };
        let mut targets = Vec::new();
        for text in after(code, "crate::") {
            targets.extend(segments(text));
        }
        // `super::` from a file directly under a top-level module reaches the root.
        let depth = module.len();
        let ups = "super::".repeat(depth);
        if depth >= 1 {
            for text in after(code, &ups) {
                if !text.starts_with("super::") {
                    targets.extend(segments(text));
                }
            }
        }
        for target in targets {
            let target = if krate.top_modules.contains(&target) {
                target
            } else if let Some(defined) = krate.root_names.get(&target) {
                defined.clone()
            } else {
                continue;
            };
            if target != *top {
                graph.entry(top.clone()).or_default().insert(target);
            }
        }
    }
    graph
}

/// The circles of `graph`: each pair of modules that reach each other.
fn circles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<(String, String)> {
    let reach = |from: &str| {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from.to_owned()];
        while let Some(module) = stack.pop() {
            for next in graph.get(&module).into_iter().flatten() {
                if seen.insert(next.clone()) {
                    stack.push(next.clone());
                }
            }
        }
        seen
    };
    let mut found = Vec::new();
    for a in graph.keys() {
        for b in reach(a) {
            if a < &b && reach(&b).contains(a) {
                found.push((a.clone(), b));
            }
        }
    }
    found
}

#[test]
fn no_import_circle_between_top_level_modules() {
    let krate = read_crate();
    let graph = imports(&krate);
    let found = circles(&graph);
    assert!(
        found.is_empty(),
        "modules that import each other: {found:?}\nimports: {graph:#?}"
    );
    // The layers, top to bottom: nothing below imports what is above it.
    let layers = ["client", "ops", "vendors", "engine", "model"];
    for (i, upper) in layers.iter().enumerate() {
        for lower in &layers[i + 1..] {
            let upward = graph.get(*lower).is_some_and(|t| t.contains(*upper));
            assert!(!upward, "`{lower}` imports `{upper}`, which is above it");
        }
    }
}

/// The files outside `src/vendors/<vendor>/` and `src/testkit/` whose code names the vendor.
fn files_naming(krate: &Crate, folder: &str, module: &str, type_prefix: &str) -> Vec<String> {
    let own = krate.src.join("vendors").join(folder);
    let testkit = krate.src.join("testkit");
    let mut files = Vec::new();
    for (file, _, code) in &krate.files {
        if file.starts_with(&own) || file.starts_with(&testkit) {
            continue;
        }
        let names_module = !after(code, &format!("{module}::")).is_empty()
            || code.contains(&format!("mod {module};"));
        let names_type = !after(code, type_prefix).is_empty();
        if names_module || names_type {
            files.push(file.strip_prefix(&krate.src).unwrap().display().to_string());
        }
    }
    files
}

#[test]
fn each_vendor_is_named_outside_its_folder_in_three_files_at_most() {
    let krate = read_crate();
    for (folder, module, prefix) in [
        ("github", "github", "GitHub"),
        ("clerk", "clerk", "Clerk"),
        ("elastic", "elastic", "Elastic"),
    ] {
        let files = files_naming(&krate, folder, module, prefix);
        assert!(files.len() <= 3, "{folder} is named in {files:?}");
    }
}
