//! `org.gnome.Shell.SearchProvider2` at [`crate::names::SEARCH_PROVIDER_PATH`]: GNOME Shell's search.
//!
//! Result ids are [`crate::result_id`]s. The result sets are searched without snippets; the metas of
//! the results the shell shows make theirs ([`ProviderSearch::shown`]). Metas give the file name (`NAME » PART` for a part of a file),
//! the snippet (or, without one, the folder) as description, and a themed icon from the extension (the
//! part's own for a part); a directory's is described as `Folder in PARENT`, with the icon `folder`. Activation and `LaunchSearch` run the desktop's opener on the file (a part's
//! container: a desktop cannot open an archive member); `LaunchSearch` opens the best hit of the terms, as
//! there is no fandex window to show a whole search in.

use std::collections::{HashMap, HashSet};

use fandex_query::Hit;
use zbus::{OwnedVariant, Variant, fdo, interface};

use crate::icon::{display_name, folder_of, icon_of, is_folder};
use crate::opener::Desktop;
use crate::provider_search::{PROVIDER_LIMIT, ProviderSearch, Snippets};
use crate::result_id;
use crate::terms::query_for_terms;

/// The GNOME Shell search provider object.
pub struct GnomeProvider {
    search: ProviderSearch,
    desktop: Desktop,
}

impl GnomeProvider {
    /// A provider searching with `search` and opening files with `desktop`.
    pub fn new(search: ProviderSearch, desktop: Desktop) -> Self {
        Self { search, desktop }
    }

    /// The metas of `id`, whose hit (with its snippet) is `hit` when a search returned it lately.
    fn meta(id: &str, hit: Option<Hit>) -> Option<HashMap<String, OwnedVariant>> {
        let named = result_id::decode(id)?;
        let path = &named.path;
        let mime = hit.as_ref().and_then(|hit| hit.mime.clone());
        let folder = named.part.is_none() && is_folder(mime.as_deref());
        let snippet = hit
            .map(|hit| hit.snippet.text)
            .filter(|text| !text.is_empty());
        let description = match snippet {
            Some(snippet) => snippet,
            // A folder says what it is and where.
            None if folder => format!("Folder in {}", folder_of(path)),
            None => folder_of(path),
        };
        let name = display_name(path, named.part.as_deref());
        let entries = [
            ("id", Variant::from(id.to_owned())),
            ("name", Variant::from(name)),
            ("description", Variant::from(description)),
            (
                "gicon",
                Variant::from(icon_of(path, named.part.as_deref(), mime.as_deref()).to_owned()),
            ),
        ];
        Some(
            entries
                .into_iter()
                .filter_map(|(k, v)| Some((k.to_owned(), OwnedVariant::try_from(v).ok()?)))
                .collect(),
        )
    }
}

#[interface(name = "org.gnome.Shell.SearchProvider2")]
impl GnomeProvider {
    /// The ids of the files matching every term, best first.
    async fn get_initial_result_set(&self, terms: Vec<String>) -> Vec<String> {
        let query = query_for_terms(&terms);
        let hits = self
            .search
            .hits(query, PROVIDER_LIMIT, Snippets::Later)
            .await;
        hits.into_iter().map(|(id, _)| id).collect()
    }

    /// The ids among `previous_results` that match the refined `terms`, in the new ranking.
    async fn get_subsearch_result_set(
        &self,
        previous_results: Vec<String>,
        terms: Vec<String>,
    ) -> Vec<String> {
        let previous: HashSet<String> = previous_results.into_iter().collect();
        let query = query_for_terms(&terms);
        let hits = self
            .search
            .hits(query, PROVIDER_LIMIT, Snippets::Later)
            .await;
        hits.into_iter()
            .map(|(id, _)| id)
            .filter(|id| previous.contains(id))
            .collect()
    }

    /// Name, description and icon of each id (ids that are not fandex's are left out). The snippets
    /// (descriptions) of these hits alone are made now, the first time they are asked for.
    async fn get_result_metas(
        &self,
        identifiers: Vec<String>,
    ) -> Vec<HashMap<String, OwnedVariant>> {
        let hits = self.search.shown(&identifiers).await;
        identifiers
            .iter()
            .zip(hits)
            .filter_map(|(id, hit)| Self::meta(id, hit))
            .collect()
    }

    /// Opens the file (for a part, its container) with the desktop's default application.
    async fn activate_result(
        &self,
        identifier: String,
        terms: Vec<String>,
        timestamp: u32,
    ) -> fdo::Result<()> {
        let _ = (terms, timestamp);
        let path = result_id::decode_path(&identifier).ok_or_else(|| {
            fdo::Error::InvalidArgs(format!("not a fandex result: {identifier:?}"))
        })?;
        self.desktop
            .open(&path)
            .map_err(|e| fdo::Error::Failed(e.to_string()))
    }

    /// Opens the best hit of `terms`.
    async fn launch_search(&self, terms: Vec<String>, timestamp: u32) -> fdo::Result<()> {
        let _ = timestamp;
        // The best hit is the same whatever the limit.
        let hits = self
            .search
            .hits(query_for_terms(&terms), 1, Snippets::Later)
            .await;
        let Some((_, best)) = hits.into_iter().next() else {
            return Ok(());
        };
        self.desktop
            .open(&best.path)
            .map_err(|e| fdo::Error::Failed(e.to_string()))
    }
}
