//! `cargo xtask cycles`: no two top-level modules of `app` or `server` may import each other,
//! directly or through others. A module's dependencies are the `crate::x` paths its files name
//! (in `use` items, grouped `use crate::{a, b}` lists and inline paths); comments are ignored.
//! Strongly connected components of that graph (Tarjan) are the cycles.

use std::{
    collections::{BTreeMap, BTreeSet},
    fs,
    path::Path,
};

use crate::Result;

/// The crates whose inside is checked (collab has no feature folders; frontend is one file).
const CRATES: [&str; 2] = ["app/src", "server/src"];

type Graph = BTreeMap<String, BTreeSet<String>>;

pub(crate) fn check(root: &Path) -> Result {
    let mut failures = Vec::new();
    for krate in CRATES {
        let graph = graph(&root.join(krate))?;
        let found = cycles(&graph);
        if found.is_empty() {
            println!("{krate}: {} modules, no cycles", graph.len());
        }
        for cycle in found {
            failures.push(format!("{krate}: {}", cycle.join(" <-> ")));
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "module cycles (each group imports itself through the others):\n  {}",
            failures.join("\n  ")
        ))
    }
}

/// Top-level module -> the other top-level modules it names.
fn graph(src: &Path) -> Result<Graph> {
    let mut graph = Graph::new();
    let mut files = Vec::new();
    walk(src, &mut files)?;
    for file in files {
        let rel = file.strip_prefix(src).map_err(|e| e.to_string())?;
        let Some(first) = rel.components().next() else {
            continue;
        };
        let top = first.as_os_str().to_string_lossy();
        let top = top.trim_end_matches(".rs").to_owned();
        if top == "lib" || top == "main" {
            continue;
        }
        let text = fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        let deps = graph.entry(top.clone()).or_default();
        for dep in referenced(&strip_comments(&text)) {
            if dep != top {
                deps.insert(dep);
            }
        }
    }
    // Names that are not modules (items re-exported at the crate root) are not edges.
    let modules: BTreeSet<String> = graph.keys().cloned().collect();
    for deps in graph.values_mut() {
        deps.retain(|d| modules.contains(d));
    }
    Ok(graph)
}

fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) -> Result {
    for entry in fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))? {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.is_dir() {
            walk(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    Ok(())
}

fn strip_comments(text: &str) -> String {
    text.lines()
        .map(|l| l.split_once("//").map_or(l, |(code, _)| code))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The first segment after every `crate::`, including each item of `crate::{a, b::c, ..}`.
fn referenced(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let preceded_by_ident = rest[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_');
        rest = &rest[at + "crate::".len()..];
        if preceded_by_ident {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0usize;
            let mut item_start = true;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        rest = &group[i..];
                        break;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => item_start = true,
                    c if item_start && (c.is_alphanumeric() || c == '_') => {
                        out.insert(ident_at(&group[i..]));
                        item_start = false;
                    }
                    c if c.is_whitespace() => {}
                    _ => item_start = false,
                }
            }
        } else {
            let name = ident_at(rest);
            if !name.is_empty() {
                out.insert(name);
            }
        }
    }
    out
}

fn ident_at(s: &str) -> String {
    s.chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

/// Strongly connected components with more than one module, each sorted.
fn cycles(graph: &Graph) -> Vec<Vec<String>> {
    struct Tarjan<'a> {
        graph: &'a Graph,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        out: Vec<Vec<String>>,
    }
    impl<'a> Tarjan<'a> {
        fn visit(&mut self, v: &'a str) {
            let i = self.index.len();
            self.index.insert(v, i);
            self.low.insert(v, i);
            self.stack.push(v);
            self.on_stack.insert(v);
            for w in self.graph.get(v).into_iter().flatten() {
                let w = w.as_str();
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let lw = self.low[w];
                    let lv = self.low[v];
                    self.low.insert(v, lv.min(lw));
                } else if self.on_stack.contains(w) {
                    let iw = self.index[w];
                    let lv = self.low[v];
                    self.low.insert(v, lv.min(iw));
                }
            }
            if self.low[v] == self.index[v] {
                let mut component = Vec::new();
                while let Some(w) = self.stack.pop() {
                    self.on_stack.remove(w);
                    component.push(w.to_owned());
                    if w == v {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort();
                    self.out.push(component);
                }
            }
        }
    }
    let mut t = Tarjan {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in graph.keys() {
        if !t.index.contains_key(v.as_str()) {
            t.visit(v);
        }
    }
    t.out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_plain_grouped_and_inline_paths_but_not_comments() {
        let code = "use crate::{a::X, b, c::{d, e}};\nuse crate::f::G;\nlet x = crate::g::h();\n\
                    // crate::comment\nmy_crate::no2;";
        let found = referenced(&strip_comments(code));
        let want: BTreeSet<String> = ["a", "b", "c", "f", "g"].map(String::from).into();
        assert_eq!(found, want);
    }

    #[test]
    fn finds_cycles_and_only_cycles() {
        let mut g = Graph::new();
        let edge = |g: &mut Graph, a: &str, b: &str| {
            g.entry(a.into()).or_default().insert(b.into());
            g.entry(b.into()).or_default();
        };
        edge(&mut g, "a", "b");
        edge(&mut g, "b", "c");
        edge(&mut g, "c", "a");
        edge(&mut g, "c", "d");
        edge(&mut g, "e", "d");
        assert_eq!(cycles(&g), vec![vec!["a", "b", "c"]]);
        g.get_mut("c").map(|d| d.remove("a"));
        assert!(cycles(&g).is_empty());
    }
}
