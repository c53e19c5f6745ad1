//! The code's shape, checked so that it stays the way ARCHITECTURE.md describes it: within each crate of the
//! workspace, no import circle between files, and no source file (test files aside) over 600 lines.
//!
//! A file A *uses* file B when A names something defined in B's module: through `crate::`, `super::`,
//! `self::` or a child module declared with `mod x;`, in a `use` line or in code. A name re-exported with
//! `pub use` counts as a use of the module that defines it, so `lib.rs` re-exporting a child's type is no
//! circle, while a child using a type *defined* in its parent that also uses the child is one. Test code
//! (inline `#[cfg(test)] mod x { .. }` blocks, `tests.rs` files, `tests/` directories) is left out.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The longest a non-test source file may be.
const MAX_LINES: usize = 600;

#[test]
fn no_import_circles_and_no_overlong_files() {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut problems = Vec::new();
    for dir in crate_dirs(workspace) {
        let krate = Crate::load(&dir);
        let name = |module: &Module| krate.display(module, workspace);
        let graph = krate.uses();
        for circle in circles(&graph) {
            let mut text = format!(
                "import circle: {}",
                circle.iter().map(&name).collect::<Vec<_>>().join(", ")
            );
            for from in &circle {
                for to in graph[from].iter().filter(|to| circle.contains(*to)) {
                    text.push_str(&format!("\n    {} -> {}", name(from), name(to)));
                }
            }
            problems.push(text);
        }
        for (module, file) in &krate.files {
            let lines = std::fs::read_to_string(file).unwrap().lines().count();
            if lines > MAX_LINES {
                problems.push(format!(
                    "{} has {lines} lines (at most {MAX_LINES})",
                    name(module)
                ));
            }
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

/// The crate checker finds a circle and a long file in a made-up crate, so a pass above means something.
#[test]
fn the_checker_sees_circles_and_long_files() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir_all(src.join("engine")).unwrap();
    let write = |path: &str, text: &str| std::fs::write(src.join(path), text).unwrap();
    write("lib.rs", "mod engine;\nmod types;\npub use types::Raw;\n");
    write("types.rs", "pub struct Raw;\n");
    write(
        "engine/mod.rs",
        "mod live;\nuse crate::Raw; // through a re-export: uses types.rs\npub struct Engine;\nfn f() { live::go() }\n",
    );
    write(
        "engine/live.rs",
        "use super::Engine;\npub fn go() {}\n#[cfg(test)]\nmod tests { use crate::engine::*; }\n",
    );
    let krate = Crate::load(dir.path());
    let graph = krate.uses();
    let engine = vec!["engine".to_string()];
    let live = vec!["engine".to_string(), "live".to_string()];
    let types = vec!["types".to_string()];
    assert_eq!(
        graph[&engine],
        BTreeSet::from([live.clone(), types.clone()])
    );
    assert_eq!(graph[&live], BTreeSet::from([engine.clone()]));
    assert_eq!(graph[&Vec::new()], BTreeSet::from([types]));
    assert_eq!(circles(&graph), vec![BTreeSet::from([engine, live])]);
}

/// A module's path inside its crate (`[]` is the crate root).
type Module = Vec<String>;

/// The workspace root and every member crate.
fn crate_dirs(workspace: &Path) -> Vec<PathBuf> {
    let manifest = std::fs::read_to_string(workspace.join("Cargo.toml")).unwrap();
    let members = manifest
        .split("members")
        .nth(1)
        .and_then(|rest| rest.split(']').next())
        .expect("a [workspace] members list");
    let mut dirs = vec![workspace.to_path_buf()];
    dirs.extend(
        members
            .split('"')
            .skip(1)
            .step_by(2)
            .map(|member| workspace.join(member)),
    );
    dirs
}

/// One crate's source files, their code without comments, literals and tests, and what each re-exports.
struct Crate {
    files: BTreeMap<Module, PathBuf>,
    tokens: BTreeMap<Module, Vec<Token>>,
    reexports: BTreeMap<Module, BTreeMap<String, Vec<String>>>,
}

impl Crate {
    fn load(dir: &Path) -> Crate {
        let src = dir.join("src");
        let mut files = BTreeMap::new();
        let mut found = Vec::new();
        collect_rs(&src, &mut found);
        found.sort();
        for path in found {
            let rel = path.strip_prefix(&src).unwrap().with_extension("");
            let mut parts: Vec<String> = rel
                .iter()
                .map(|p| p.to_string_lossy().into_owned())
                .collect();
            let last = parts.pop().unwrap();
            if last == "tests" || parts.first().is_some_and(|p| p == "bin") {
                continue;
            }
            match last.as_str() {
                "lib" | "main" if parts.is_empty() => {
                    // A crate with a library and a binary: the library is the root (`lib` sorts first).
                    files.entry(parts).or_insert(path);
                    continue;
                }
                "mod" => {}
                _ => parts.push(last),
            }
            files.insert(parts, path);
        }
        let tokens: BTreeMap<Module, Vec<Token>> = files
            .iter()
            .map(|(module, path)| {
                let text = std::fs::read_to_string(path).unwrap();
                (module.clone(), without_tests(tokenize(&text)))
            })
            .collect();
        let reexports = tokens
            .iter()
            .map(|(module, tokens)| (module.clone(), reexports(tokens)))
            .collect();
        Crate {
            files,
            tokens,
            reexports,
        }
    }

    fn display(&self, module: &Module, workspace: &Path) -> String {
        let path = &self.files[module];
        path.strip_prefix(workspace)
            .unwrap_or(path)
            .display()
            .to_string()
    }

    /// Which files each file uses.
    fn uses(&self) -> BTreeMap<Module, BTreeSet<Module>> {
        let mut graph = BTreeMap::new();
        for (module, tokens) in &self.tokens {
            let children = children(tokens);
            let mut targets = BTreeSet::new();
            for path in paths(tokens) {
                let Some(absolute) = absolute(module, &children, &path) else {
                    continue;
                };
                let target = self.resolve(&absolute, 0);
                if &target != module {
                    targets.insert(target);
                }
            }
            graph.insert(module.clone(), targets);
        }
        graph
    }

    /// The file that defines what an absolute path names, following `pub use` re-exports.
    fn resolve(&self, path: &[String], depth: usize) -> Module {
        let mut known = 0;
        while known < path.len() && self.files.contains_key(&path[..=known]) {
            known += 1;
        }
        let module = path[..known].to_vec();
        if let Some(name) = path.get(known)
            && depth < 8
            && let Some(target) = self.reexports[&module].get(name)
            && let Some(mut target) = absolute(&module, &children(&self.tokens[&module]), target)
        {
            target.extend(path[known + 1..].iter().cloned());
            return self.resolve(&target, depth + 1);
        }
        module
    }
}

fn collect_rs(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n != "tests") {
                collect_rs(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Turns a path written in `module` into one from the crate root, or `None` when it leaves the crate.
fn absolute(module: &Module, children: &BTreeSet<String>, path: &[String]) -> Option<Module> {
    let first = path.first()?;
    match first.as_str() {
        "crate" => Some(path[1..].to_vec()),
        "self" => Some(module.iter().chain(&path[1..]).cloned().collect()),
        "super" => {
            let mut base = module.clone();
            let mut rest = path;
            while rest.first().is_some_and(|s| s == "super") {
                base.pop()?;
                rest = &rest[1..];
            }
            base.extend(rest.iter().cloned());
            Some(base)
        }
        _ if children.contains(first) => Some(module.iter().chain(path).cloned().collect()),
        _ => None,
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Ident(String),
    /// `::`
    PathSep,
    Punct(char),
}

fn ident(token: Option<&Token>) -> Option<&str> {
    match token {
        Some(Token::Ident(name)) => Some(name),
        _ => None,
    }
}

/// Identifiers and punctuation, without comments, string, byte and char literals, and lifetimes.
fn tokenize(text: &str) -> Vec<Token> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    let at = |i: usize| chars.get(i).copied().unwrap_or('\0');
    while i < chars.len() {
        let c = chars[i];
        if c == '/' && at(i + 1) == '/' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && at(i + 1) == '*' {
            let mut depth = 1;
            i += 2;
            while i < chars.len() && depth > 0 {
                if chars[i] == '/' && at(i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                } else {
                    i += 1;
                }
            }
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
        } else if c == '\'' {
            // A char literal ('x', '\n', '\u{..}') or a lifetime ('a).
            if at(i + 1) == '\\' {
                i += 2;
                while i < chars.len() && chars[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if at(i + 2) == '\'' {
                i += 3;
            } else {
                i += 1;
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
            }
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            // Raw strings and byte strings: r"..", r#".."#, b"..", br#".."#, b'x'.
            let hashes = chars[i..].iter().take_while(|&&h| h == '#').count();
            if (word == "r" || word == "br") && at(i + hashes) == '"' {
                i += hashes + 1;
                let close: Vec<char> = std::iter::once('"')
                    .chain(std::iter::repeat_n('#', hashes))
                    .collect();
                while i < chars.len() && !chars[i..].starts_with(&close) {
                    i += 1;
                }
                i += close.len();
            } else if word == "r" && hashes == 1 && (at(i + 1).is_alphabetic() || at(i + 1) == '_')
            {
                i += 1; // a raw identifier: the next word is read as the identifier
            } else if word == "b" && (at(i) == '"' || at(i) == '\'') {
                // The literal is skipped by the branches above on the next turn.
            } else {
                tokens.push(Token::Ident(word));
            }
        } else if c == ':' && at(i + 1) == ':' {
            tokens.push(Token::PathSep);
            i += 2;
        } else {
            if !c.is_whitespace() {
                tokens.push(Token::Punct(c));
            }
            i += 1;
        }
    }
    tokens
}

/// Drops `#[cfg(test)] mod x { .. }` blocks.
fn without_tests(tokens: Vec<Token>) -> Vec<Token> {
    let cfg_test: Vec<Token> = vec![
        Token::Punct('#'),
        Token::Punct('['),
        Token::Ident("cfg".into()),
        Token::Punct('('),
        Token::Ident("test".into()),
        Token::Punct(')'),
        Token::Punct(']'),
    ];
    let mut out = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        if tokens[i..].starts_with(&cfg_test) {
            let mut j = i + cfg_test.len();
            if ident(tokens.get(j)) == Some("pub") {
                j += 1;
                if tokens.get(j) == Some(&Token::Punct('(')) {
                    while j < tokens.len() && tokens[j] != Token::Punct(')') {
                        j += 1;
                    }
                    j += 1;
                }
            }
            if ident(tokens.get(j)) == Some("mod") && tokens.get(j + 2) == Some(&Token::Punct('{'))
            {
                let mut depth = 0;
                j += 2;
                while j < tokens.len() {
                    match tokens[j] {
                        Token::Punct('{') => depth += 1,
                        Token::Punct('}') => depth -= 1,
                        _ => {}
                    }
                    j += 1;
                    if depth == 0 {
                        break;
                    }
                }
                i = j;
                continue;
            }
        }
        out.push(tokens[i].clone());
        i += 1;
    }
    out
}

/// The child modules a file declares (`mod x;`).
fn children(tokens: &[Token]) -> BTreeSet<String> {
    tokens
        .windows(3)
        .filter(|w| ident(w.first()) == Some("mod") && w[2] == Token::Punct(';'))
        .filter_map(|w| ident(w.get(1)).map(str::to_string))
        .collect()
}

/// The `use` trees of a file (the tokens between `use` and `;`), with whether each is `pub`.
fn use_trees(tokens: &[Token]) -> Vec<(bool, std::ops::Range<usize>)> {
    let mut trees = Vec::new();
    for (i, token) in tokens.iter().enumerate() {
        if ident(Some(token)) != Some("use") {
            continue;
        }
        let end = tokens[i..]
            .iter()
            .position(|t| *t == Token::Punct(';'))
            .map_or(tokens.len(), |p| i + p);
        let mut before = i;
        if before > 0 && tokens[before - 1] == Token::Punct(')') {
            while before > 0 && tokens[before - 1] != Token::Punct('(') {
                before -= 1;
            }
            before = before.saturating_sub(1);
        }
        let public = before > 0 && ident(tokens.get(before - 1)) == Some("pub");
        trees.push((public, i + 1..end));
    }
    trees
}

/// Expands a use tree (`a::{b, c::{d, e as f}}`) into full paths; a glob keeps its prefix.
fn expand(tree: &[Token], prefix: &[String], out: &mut Vec<Vec<String>>) {
    let mut path = prefix.to_vec();
    let mut i = 0;
    while i < tree.len() {
        match &tree[i] {
            Token::Ident(name) if name == "as" => break,
            Token::Ident(name) => path.push(name.clone()),
            Token::Punct('{') => {
                let mut depth = 0;
                let mut start = i + 1;
                for j in i..tree.len() {
                    match tree[j] {
                        Token::Punct('{') => depth += 1,
                        Token::Punct('}') => depth -= 1,
                        Token::Punct(',') if depth == 1 => {
                            expand(&tree[start..j], &path, out);
                            start = j + 1;
                        }
                        _ => {}
                    }
                    if depth == 0 {
                        expand(&tree[start..j], &path, out);
                        return;
                    }
                }
                return;
            }
            _ => {}
        }
        i += 1;
    }
    if path.last().is_some_and(|s| s == "self") {
        path.pop();
    }
    if !path.is_empty() {
        out.push(path);
    }
}

/// The names a file re-exports (`pub use path::Name`) and the paths they stand for.
fn reexports(tokens: &[Token]) -> BTreeMap<String, Vec<String>> {
    let mut names = BTreeMap::new();
    for (public, tree) in use_trees(tokens) {
        if !public {
            continue;
        }
        let mut paths = Vec::new();
        expand(&tokens[tree], &[], &mut paths);
        for path in paths {
            if let Some(name) = path.last() {
                names.insert(name.clone(), path.clone());
            }
        }
    }
    names
}

/// Every path a file names: in `use` lines and in code (`a::b::c`).
fn paths(tokens: &[Token]) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut in_use = vec![false; tokens.len()];
    for (_, tree) in use_trees(tokens) {
        expand(&tokens[tree.clone()], &[], &mut out);
        in_use[tree].fill(true);
    }
    let mut i = 0;
    while i < tokens.len() {
        let starts_path = !in_use[i]
            && ident(tokens.get(i)).is_some()
            && tokens.get(i + 1) == Some(&Token::PathSep)
            && (i == 0 || tokens[i - 1] != Token::PathSep);
        if !starts_path {
            i += 1;
            continue;
        }
        let mut path = Vec::new();
        while let Some(name) = ident(tokens.get(i)) {
            path.push(name.to_string());
            if tokens.get(i + 1) != Some(&Token::PathSep) {
                break;
            }
            i += 2;
        }
        out.push(path);
        i += 1;
    }
    out
}

/// The strongly connected sets of more than one file (Tarjan's algorithm).
fn circles(graph: &BTreeMap<Module, BTreeSet<Module>>) -> Vec<BTreeSet<Module>> {
    struct State<'a> {
        graph: &'a BTreeMap<Module, BTreeSet<Module>>,
        index: BTreeMap<&'a Module, usize>,
        low: BTreeMap<&'a Module, usize>,
        stack: Vec<&'a Module>,
        found: Vec<BTreeSet<Module>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a Module) {
        let n = s.index.len();
        s.index.insert(v, n);
        s.low.insert(v, n);
        s.stack.push(v);
        for w in s.graph.get(v).into_iter().flatten() {
            if !s.graph.contains_key(w) {
                continue;
            }
            if !s.index.contains_key(w) {
                visit(s, w);
                let low = s.low[v].min(s.low[w]);
                s.low.insert(v, low);
            } else if s.stack.contains(&w) {
                let low = s.low[v].min(s.index[w]);
                s.low.insert(v, low);
            }
        }
        if s.low[v] == s.index[v] {
            let mut set = BTreeSet::new();
            while let Some(w) = s.stack.pop() {
                set.insert(w.clone());
                if w == v {
                    break;
                }
            }
            if set.len() > 1 {
                s.found.push(set);
            }
        }
    }
    let mut state = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        found: Vec::new(),
    };
    for v in graph.keys() {
        if !state.index.contains_key(v) {
            visit(&mut state, v);
        }
    }
    state.found
}
