//! End to end through the binary: index a fixture tree, check exact result sets for every query form
//! against the test's own model of the files, then change the tree and check again.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use common::Env;

/// What the test knows about each file: its path and the text fandex should extract from it.
struct Model {
    files: BTreeMap<PathBuf, String>,
}

/// The test's own tokenizer: split on non-alphanumerics, lowercase.
fn tokens(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(|t| t.to_lowercase())
        .collect()
}

fn name_of(path: &Path) -> String {
    String::from_utf8_lossy(path.file_name().unwrap().as_bytes()).into_owned()
}

impl Model {
    /// Files whose content or name holds the word.
    fn word(&self, w: &str) -> BTreeSet<PathBuf> {
        self.files
            .iter()
            .filter(|(p, text)| {
                tokens(text).contains(&w.to_owned()) || tokens(&name_of(p)).contains(&w.to_owned())
            })
            .map(|(p, _)| p.clone())
            .collect()
    }

    fn all(&self) -> BTreeSet<PathBuf> {
        self.files.keys().cloned().collect()
    }

    fn phrase(&self, words: &[&str]) -> BTreeSet<PathBuf> {
        let want: Vec<String> = words.iter().map(|w| w.to_string()).collect();
        self.files
            .iter()
            .filter(|(p, text)| {
                [tokens(text), tokens(&name_of(p))]
                    .iter()
                    .any(|t| t.windows(want.len()).any(|w| w == want.as_slice()))
            })
            .map(|(p, _)| p.clone())
            .collect()
    }

    fn prefix(&self, pre: &str) -> BTreeSet<PathBuf> {
        self.files
            .iter()
            .filter(|(p, text)| {
                tokens(text)
                    .iter()
                    .chain(&tokens(&name_of(p)))
                    .any(|t| t.starts_with(pre))
            })
            .map(|(p, _)| p.clone())
            .collect()
    }

    fn ascii_words(&self) -> BTreeSet<String> {
        self.files
            .iter()
            .flat_map(|(p, text)| tokens(text).into_iter().chain(tokens(&name_of(p))))
            .filter(|t| t.is_ascii())
            .collect()
    }
}

fn gz(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn utf16(text: &str, big_endian: bool) -> Vec<u8> {
    let mut out = if big_endian {
        vec![0xfe, 0xff]
    } else {
        vec![0xff, 0xfe]
    };
    for u in text.encode_utf16() {
        out.extend(if big_endian {
            u.to_be_bytes()
        } else {
            u.to_le_bytes()
        });
    }
    out
}

/// Builds the fixture tree; returns the model.
fn build(env: &Env) -> Model {
    let mut files = BTreeMap::new();
    let mut add = |name: &[u8], bytes: Vec<u8>, text: &str| {
        let p = env.write(name, &bytes);
        files.insert(p, text.to_owned());
    };
    add(
        b"plain.txt",
        b"the quick brown fox jumps over the lazy dog".to_vec(),
        "the quick brown fox jumps over the lazy dog",
    );
    add(
        b"latin1.txt",
        b"caf\xe9 cr\xe8me quick walrus".to_vec(),
        "café crème quick walrus",
    );
    add(
        b"utf16le.txt",
        utf16("sixteen bit quick text", false),
        "sixteen bit quick text",
    );
    add(
        b"utf16be.txt",
        utf16("bigendian words here", true),
        "bigendian words here",
    );
    add(
        b"page.html",
        b"<html><head><style>.stylesecret{color:red}</style><script>var scriptsecret=1;</script></head>\
          <body><p>visible paragraph &amp; fox</p><!-- commentsecret --></body></html>"
            .to_vec(),
        "visible paragraph & fox",
    );
    add(
        b"notes.txt.gz",
        gz(b"compressed zebra notes"),
        "compressed zebra notes",
    );
    add(b"blob.bin", b"\x00\x01\x02hiddenword\x00".to_vec(), "");
    add(
        b"caf\xe9-name.txt",
        b"invalidname content marmot".to_vec(),
        "invalidname content marmot",
    );
    add(
        b"new\nline.txt",
        b"newline file otter".to_vec(),
        "newline file otter",
    );
    add(
        b"sub/dir/deep.md",
        b"deep markdown fox".to_vec(),
        "deep markdown fox",
    );
    add(
        b"sub/other.MD",
        b"other markdown quick".to_vec(),
        "other markdown quick",
    );
    add(
        b"subway/x.txt",
        b"sibling prefix fox".to_vec(),
        "sibling prefix fox",
    );
    // Excluded by default: never in results.
    env.write(b".git/config", b"quick gitsecret");
    Model { files }
}

fn check_all(env: &Env, m: &Model) {
    // Every word the model knows, one by one.
    let words = m.ascii_words();
    assert!(words.len() > 30);
    for w in &words {
        assert_eq!(env.search(w), m.word(w), "word {w:?}");
    }
    // Words that must not be found: script/style/comment text, binary content, excluded dirs.
    for w in [
        "stylesecret",
        "scriptsecret",
        "commentsecret",
        "hiddenword",
        "gitsecret",
    ] {
        assert!(env.search(w).is_empty(), "{w} must not be indexed");
    }
    let and = |a: &str, b: &str| -> BTreeSet<PathBuf> {
        m.word(a).intersection(&m.word(b)).cloned().collect()
    };
    assert_eq!(env.search("quick fox"), and("quick", "fox"));
    let or: BTreeSet<PathBuf> = m.word("zebra").union(&m.word("otter")).cloned().collect();
    assert_eq!(env.search("zebra OR otter"), or);
    let not: BTreeSet<PathBuf> = m
        .word("fox")
        .difference(&m.word("markdown"))
        .cloned()
        .collect();
    assert_eq!(env.search("fox -markdown"), not);
    let only_not: BTreeSet<PathBuf> = m.all().difference(&m.word("fox")).cloned().collect();
    assert_eq!(env.search("-fox"), only_not);
    assert_eq!(env.search("\"lazy dog\""), m.phrase(&["lazy", "dog"]));
    assert!(env.search("\"dog lazy\"").is_empty());
    assert_eq!(env.search("mark*"), m.prefix("mark"));
    assert_eq!(env.search("qu*"), m.prefix("qu"));
    // Accent folding works both ways.
    let latin = BTreeSet::from([env.root.join("latin1.txt")]);
    assert_eq!(env.search("cafe"), latin);
    assert_eq!(env.search("Café"), latin);
    // Filters.
    let by_ext = |e: &str| -> BTreeSet<PathBuf> {
        m.all()
            .into_iter()
            .filter(|p| p.extension().map(|x| x.to_string_lossy().to_lowercase()) == Some(e.into()))
            .collect()
    };
    assert_eq!(env.search("ext:md"), by_ext("md"));
    assert_eq!(env.search("ext:.MD"), by_ext("md"));
    assert_eq!(env.search("ext:gz"), by_ext("gz"));
    let under = |d: &str| -> BTreeSet<PathBuf> {
        m.all()
            .into_iter()
            .filter(|p| p.starts_with(env.root.join(d)))
            .collect()
    };
    assert_eq!(
        env.search(&format!("path:{}", env.root.join("sub").display())),
        under("sub")
    );
    assert_eq!(
        env.search("path:sub/"),
        under("sub"),
        "relative to the current directory"
    );
    assert_eq!(
        env.search("fox path:sub"),
        and_set(&m.word("fox"), &under("sub"))
    );
    let names = |w: &str| -> BTreeSet<PathBuf> {
        m.all()
            .into_iter()
            .filter(|p| tokens(&name_of(p)).contains(&w.to_owned()))
            .collect()
    };
    assert_eq!(env.search("name:deep"), names("deep"));
    assert!(
        env.search("name:markdown").is_empty(),
        "name: looks at names only"
    );
    assert_eq!(
        env.search("name:blob"),
        BTreeSet::from([env.root.join("blob.bin")])
    );
    // Exact bytes of odd names survive the round trip.
    assert_eq!(
        env.search("marmot"),
        BTreeSet::from([env.root.join(OsStr::from_bytes(b"caf\xe9-name.txt"))])
    );
    assert_eq!(
        env.search("otter"),
        BTreeSet::from([env.root.join(OsStr::from_bytes(b"new\nline.txt"))])
    );
}

fn and_set(a: &BTreeSet<PathBuf>, b: &BTreeSet<PathBuf>) -> BTreeSet<PathBuf> {
    a.intersection(b).cloned().collect()
}

#[test]
fn index_search_modify_and_search_again() {
    let env = Env::new();
    let mut m = build(&env);
    // Files changed within a kernel clock tick of being read are re-read on the next run (equal timestamps
    // prove nothing then); let the fixture age past that window so the counts below are exact.
    std::thread::sleep(std::time::Duration::from_millis(100));
    let s = env.index(&[&env.root]);
    assert_eq!(s["seen"], m.files.len() as u64);
    assert_eq!(s["indexed"], m.files.len() as u64);
    check_all(&env, &m);
    assert!(
        !env.search("quick fox").is_empty(),
        "the AND check must not be vacuous"
    );

    // Modify, rename, move, delete; then index again without naming the root.
    let plain = env.root.join("plain.txt");
    std::fs::write(&plain, "the slow brown fox naps").unwrap();
    m.files.insert(plain, "the slow brown fox naps".into());
    let old = env.root.join("sub/dir");
    let new = env.root.join("sub/moved");
    std::fs::rename(&old, &new).unwrap();
    let text = m.files.remove(&old.join("deep.md")).unwrap();
    m.files.insert(new.join("deep.md"), text);
    let z_old = env.root.join("notes.txt.gz");
    let z_new = env.root.join("renamed-notes.txt.gz");
    std::fs::rename(&z_old, &z_new).unwrap();
    let text = m.files.remove(&z_old).unwrap();
    m.files.insert(z_new, text);
    let gone = env.root.join("utf16be.txt");
    std::fs::remove_file(&gone).unwrap();
    m.files.remove(&gone);
    let s = env.index(&[]);
    assert_eq!(s["indexed"], 1, "only the modified file is read: {s}");
    assert_eq!(s["moved"], 2, "{s}");
    assert_eq!(s["removed"], 1, "{s}");
    check_all(&env, &m);
}
