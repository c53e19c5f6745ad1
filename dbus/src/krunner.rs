//! `org.kde.krunner1` at [`crate::names::KRUNNER_PATH`]: KRunner's D-Bus runner protocol.
//!
//! Matches are the first [`KRUNNER_LIMIT`] hits of the query line (ids are [`crate::result_id`]s, text the file name or
//! `NAME » PART`, subtext the snippet or the folder, relevance the rank); the actions are open, open the
//! containing folder and copy the path (of the file, a part's container, for a part).

use std::collections::HashMap;

use zbus::{OwnedVariant, Variant, fdo, interface};

use crate::icon::{display_name, folder_of, icon_of};
use crate::opener::Desktop;
use crate::provider_search::{KRUNNER_LIMIT, ProviderSearch, Snippets};
use crate::result_id;
use crate::terms::{query_for_terms, split_line};

/// Action id: open the file (also what running a match without an action does).
pub const ACTION_OPEN: &str = "open";
/// Action id: open the folder the file is in.
pub const ACTION_OPEN_FOLDER: &str = "open-folder";
/// Action id: copy the file's path to the clipboard.
pub const ACTION_COPY_PATH: &str = "copy-path";

/// KRunner's `QueryMatch::PossibleMatch`: a match that may be what the user wants.
const POSSIBLE_MATCH: i32 = 30;

/// One match: id, text, icon name, type, relevance, properties.
type Match = (
    String,
    String,
    String,
    i32,
    f64,
    HashMap<String, OwnedVariant>,
);

/// The KRunner runner object.
pub struct KRunner {
    search: ProviderSearch,
    desktop: Desktop,
}

impl KRunner {
    /// A runner searching with `search` and acting with `desktop`.
    pub fn new(search: ProviderSearch, desktop: Desktop) -> Self {
        Self { search, desktop }
    }
}

fn properties(subtext: String) -> HashMap<String, OwnedVariant> {
    let mut map = HashMap::new();
    if let Ok(v) = OwnedVariant::try_from(Variant::from(subtext)) {
        map.insert("subtext".to_owned(), v);
    }
    map
}

#[interface(name = "org.kde.krunner1")]
impl KRunner {
    /// The actions every match offers: (id, text, icon).
    async fn actions(&self) -> Vec<(String, String, String)> {
        [
            (ACTION_OPEN, "Open", "document-open"),
            (
                ACTION_OPEN_FOLDER,
                "Open containing folder",
                "document-open-folder",
            ),
            (ACTION_COPY_PATH, "Copy path", "edit-copy"),
        ]
        .into_iter()
        .map(|(id, text, icon)| (id.to_owned(), text.to_owned(), icon.to_owned()))
        .collect()
    }

    /// The files matching the query line, best first: the first [`KRUNNER_LIMIT`], each with its
    /// snippet.
    #[zbus(name = "Match")]
    async fn match_(&self, query: String) -> Vec<Match> {
        let query = query_for_terms(&split_line(&query));
        let hits = self.search.hits(query, KRUNNER_LIMIT, Snippets::Now).await;
        let count = hits.len().max(1) as f64;
        hits.into_iter()
            .enumerate()
            .map(|(rank, (id, hit))| {
                let text = display_name(&hit.path, hit.part.as_deref());
                let subtext = if hit.snippet.text.is_empty() {
                    folder_of(&hit.path)
                } else {
                    hit.snippet.text.clone()
                };
                let relevance = 1.0 - rank as f64 / count;
                let icon = icon_of(&hit.path, hit.part.as_deref(), hit.mime.as_deref()).to_owned();
                (
                    id,
                    text,
                    icon,
                    POSSIBLE_MATCH,
                    relevance,
                    properties(subtext),
                )
            })
            .collect()
    }

    /// Runs `action_id` (empty: open) on the match `match_id`.
    async fn run(&self, match_id: String, action_id: String) -> fdo::Result<()> {
        let path = result_id::decode_path(&match_id)
            .ok_or_else(|| fdo::Error::InvalidArgs(format!("not a fandex match: {match_id:?}")))?;
        let done = match action_id.as_str() {
            "" | ACTION_OPEN => self.desktop.open(&path),
            ACTION_OPEN_FOLDER => {
                let folder = path.parent().unwrap_or(&path);
                self.desktop.open(folder)
            }
            ACTION_COPY_PATH => {
                use std::os::unix::ffi::OsStrExt;
                self.desktop.copy(path.as_os_str().as_bytes())
            }
            other => return Err(fdo::Error::InvalidArgs(format!("unknown action {other:?}"))),
        };
        done.map_err(|e| fdo::Error::Failed(e.to_string()))
    }
}
