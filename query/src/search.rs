//! [`QueryEngine`]: runs a query on the index and returns ranked hits with their stored fields and
//! snippets.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Instant;

use fandex_schema::Fields;
use fandex_schema::chunks::{self, ChunkTable};
use tantivy::collector::Count;
use tantivy::query::Bm25StatisticsProvider;
use tantivy::schema::document::{DeserializeError, DocumentDeserialize, DocumentDeserializer};
use tantivy::schema::{Field, OwnedValue};
use tantivy::{DocAddress, IndexReader, Searcher};
use tracing::{debug, warn};

use crate::blend::{Blend, RankWeights};
use crate::compile::{Env, name_words, scoring_leaves};
use crate::error::QueryError;
use crate::limits;
use crate::order::{self, FirstByNumber};
use crate::parse::Expr;
use crate::prune::Words;
use crate::rank::{AllMatches, Ranked, TieFields, TopByScoreThenId, blend_all};
use crate::request::{Hit, SearchRequest, SearchResults, SortBy};
use crate::rescore;
use crate::snippet::SnippetMaker;
use crate::visible::VisibleMatches;

/// Searches one index.
///
/// Cheap to share between threads: each search takes the reader's current searcher, so a search sees
/// whatever the reader last loaded (call `IndexReader::reload` after a commit when the reader's policy
/// is manual).
#[derive(Clone)]
pub struct QueryEngine {
    reader: IndexReader,
    fields: Fields,
    /// Directories whose files no search returns or counts (a root whose filesystem is offline), shared
    /// by every clone of this engine.
    hidden: Arc<RwLock<Arc<[PathBuf]>>>,
    /// How relevance blends the text score with name matches and recency, shared by every clone.
    rank: Arc<RwLock<RankWeights>>,
}

impl std::fmt::Debug for QueryEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueryEngine")
            .field("fields", &self.fields)
            .finish_non_exhaustive()
    }
}

/// Answers, for the file ids of matching documents (best first), which ones the caller may see.
pub type Visibility<'a> = dyn Fn(&[u64]) -> Vec<bool> + 'a;

impl QueryEngine {
    /// Creates an engine over `reader`, whose schema is described by `fields`.
    ///
    /// The index must already have `schema::register_analyzers` applied. Relevance is the text score
    /// alone ([`RankWeights::TEXT_ONLY`]) until [`Self::set_rank`] says otherwise (the facade's
    /// searchers and the daemon set the configuration's `[rank]`).
    pub fn new(reader: tantivy::IndexReader, fields: Fields) -> Self {
        Self {
            reader,
            fields,
            hidden: Arc::new(RwLock::new(Arc::from(Vec::new()))),
            rank: Arc::new(RwLock::new(RankWeights::TEXT_ONLY)),
        }
    }

    /// Sets how relevance blends the text score with a name match and recency (see [`RankWeights`]),
    /// for every later search of this engine and its clones.
    pub fn set_rank(&self, weights: RankWeights) {
        match self.rank.write() {
            Ok(mut rank) => *rank = weights,
            Err(poisoned) => *poisoned.into_inner() = weights,
        }
    }

    /// The weights of the relevance blend (see [`Self::set_rank`]).
    pub fn rank(&self) -> RankWeights {
        match self.rank.read() {
            Ok(rank) => *rank,
            Err(poisoned) => *poisoned.into_inner(),
        }
    }

    /// Hides every file under the directories `dirs` (absolute, exact bytes) from every later search of
    /// this engine and its clones: they are neither returned nor counted. Replaces the previous set; an
    /// empty list hides nothing. The daemon hides the roots whose filesystem is offline this way.
    pub fn set_hidden_subtrees(&self, dirs: Vec<PathBuf>) {
        let dirs: Arc<[PathBuf]> = Arc::from(dirs);
        match self.hidden.write() {
            Ok(mut hidden) => *hidden = dirs,
            Err(poisoned) => *poisoned.into_inner() = dirs,
        }
    }

    /// The directories currently hidden (see [`Self::set_hidden_subtrees`]).
    pub fn hidden_subtrees(&self) -> Arc<[PathBuf]> {
        match self.hidden.read() {
            Ok(hidden) => hidden.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Number of searchable documents (files and their parts).
    pub fn num_docs(&self) -> u64 {
        let searcher = self.reader.searcher();
        chunks::file_documents(&searcher).unwrap_or_else(|_| searcher.num_docs())
    }

    /// Parses and runs `request.query`.
    ///
    /// Hits come in the request's order (by default descending score), ties broken by ascending file
    /// id; at most `request.limit` of them after the first `request.offset`, while `total` counts every
    /// matching document. Fails with [`QueryError::Syntax`] on a bad
    /// query, [`QueryError::TooLarge`] on a query or limit beyond the bounds of [`crate::limits`] (before
    /// any work) and [`QueryError::Index`] when the index cannot be read.
    pub fn search(&self, request: &SearchRequest) -> Result<SearchResults, QueryError> {
        self.search_inner(request, None, true, false)
    }

    /// Like [`Self::search`], but only files for which `visible` says yes exist: they alone are counted
    /// in `total`, ranked, returned and given snippets, and scores are computed from statistics of the
    /// visible matches alone (see below), so a hidden file changes nothing in the answer: not the count,
    /// not a score, not the order. `visible` receives the file ids of every match, in no particular
    /// order, each once (a file's parts are visible exactly when the file is), and answers one flag each
    /// (a missing flag means hidden).
    ///
    /// Scoring: BM25 as in [`Self::search`], but the collection it sees is the visible matches: their
    /// number, how many of them hold each word, their average length. A score is the sum, in the query's
    /// order, of the scores of the words, phrases and prefixes the file matches (filters and exclusions add
    /// 0). Rare words among the visible matches weigh more; scores are on another scale than an unfiltered
    /// search's and compare only within one answer.
    pub fn search_visible(
        &self,
        request: &SearchRequest,
        visible: &Visibility<'_>,
    ) -> Result<SearchResults, QueryError> {
        self.search_inner(request, Some(visible), true, false)
    }

    /// The search; with `suggest`, an answer without hits carries a corrected query when one finds
    /// files the caller may see (see [`crate::suggest`]). With `exhaustive`, every match is scored and
    /// blended before the page is cut (the plain way, which the faster ones must equal: see this module's
    /// tests).
    pub(crate) fn search_inner(
        &self,
        request: &SearchRequest,
        visible: Option<&Visibility<'_>>,
        suggest: bool,
        exhaustive: bool,
    ) -> Result<SearchResults, QueryError> {
        self.search_kept(request, visible, suggest, exhaustive)
            .map(|(results, _)| results)
    }

    /// [`Self::search_inner`], also keeping what the search compiled and the documents of its hits, to
    /// make their snippets later (`shown::LaterSnippets`).
    pub(crate) fn search_kept(
        &self,
        request: &SearchRequest,
        visible: Option<&Visibility<'_>>,
        suggest: bool,
        exhaustive: bool,
    ) -> Result<(SearchResults, Kept), QueryError> {
        let started = Instant::now();
        limits::check_limit(request.limit)?;
        limits::check_offset(request.offset)?;
        let searcher = self.reader.searcher();
        let compiled = self.compiled(request, &searcher)?;
        let (expr, query, clock) = (compiled.expr, compiled.query, compiled.clock);
        let home = request.home_dir();
        let env = Env {
            cwd: &request.cwd,
            home: home.as_deref(),
            clock,
        };
        let ties = TieFields {
            folder: searcher
                .schema()
                .get_field_name(self.fields.folder)
                .to_owned(),
            file_id: searcher
                .schema()
                .get_field_name(self.fields.file_id)
                .to_owned(),
            part: searcher
                .schema()
                .get_field_name(self.fields.part_ord)
                .to_owned(),
        };
        let blend = Blend::new(
            &searcher,
            searcher.schema().get_field_name(self.fields.mtime),
            self.rank(),
            &name_words(&expr, &self.fields),
            clock.now_ns,
        )?;
        let by_best_score = request.sort == SortBy::Relevance && !request.reverse;
        let stats = FileStatistics::of(&searcher, &self.fields)?;
        let page = (request.offset, request.limit);
        let sort = (request.sort, request.reverse);
        let (ranked, total) = match visible {
            None if by_best_score && !exhaustive => {
                let limit = request.offset.saturating_add(request.limit);
                let hidden = self.hidden_subtrees();
                let (best, total) = match Words::of(&expr, &self.fields, &env, &hidden)? {
                    // Words: block-max WAND scores a few matches; counting apart stays exact.
                    Some(words) => {
                        match words.top(&searcher, &stats, limit, &ties, blend.as_ref())? {
                            (best, Some(total)) => (best, total),
                            (best, None) => (best, searcher.search(&*query, &Count)?),
                        }
                    }
                    None => {
                        let top = TopByScoreThenId { limit, ties, blend };
                        searcher.search_with_statistics_provider(&*query, &(top, Count), &stats)?
                    }
                };
                (
                    order::page(&searcher, &self.fields, best, sort, page)?,
                    total,
                )
            }
            None if request.sort != SortBy::Relevance && !exhaustive => {
                // The order needs no score: match unscored, cut the page, score only its documents.
                let first = request.offset.saturating_add(request.limit);
                let (all, total) =
                    match FirstByNumber::new(&searcher, &self.fields, ties.clone(), sort, first) {
                        Some(first) => searcher.search(&*query, &first)?,
                        None => {
                            let all = AllMatches {
                                ties: ties.clone(),
                                scored: false,
                                blend: None,
                            };
                            let all = searcher.search(&*query, &all)?;
                            let total = all.len();
                            (all, total)
                        }
                    };
                let mut ranked = order::page(&searcher, &self.fields, all, sort, page)?;
                if rescore::score_chosen(&searcher, &*query, &stats, &mut ranked)? {
                    if let Some(blend) = &blend {
                        blend_all(blend, &searcher, &mut ranked)?;
                    }
                } else {
                    warn!(query = %request.query, "a chosen match did not match when scored; scoring every match");
                    let all = AllMatches {
                        ties,
                        scored: true,
                        blend,
                    };
                    let all = searcher.search_with_statistics_provider(&*query, &all, &stats)?;
                    ranked = order::page(&searcher, &self.fields, all, sort, page)?;
                }
                (ranked, total)
            }
            None => {
                let all = AllMatches {
                    ties,
                    scored: true,
                    blend,
                };
                let all = searcher.search_with_statistics_provider(&*query, &all, &stats)?;
                let total = all.len();
                (
                    order::page(&searcher, &self.fields, all, sort, page)?,
                    total,
                )
            }
            Some(visible) => {
                // Scores from the visible matches alone: see the `visible` module.
                let all = AllMatches {
                    ties,
                    scored: false,
                    blend: None,
                };
                let matches = searcher.search(&*query, &all)?;
                // Asked once per file: its parts are visible exactly when it is.
                let mut ids: Vec<u64> = matches.iter().map(|r| r.file_id).collect();
                ids.sort_unstable();
                ids.dedup();
                let flags = visible(&ids);
                let kept: Vec<Ranked> = matches
                    .into_iter()
                    .filter(|r| {
                        ids.binary_search(&r.file_id)
                            .is_ok_and(|i| flags.get(i).copied().unwrap_or(false))
                    })
                    .collect();
                let total = kept.len();
                let leaves = scoring_leaves(&expr, &self.fields);
                let mut scored = VisibleMatches::new(&searcher, kept).score(&searcher, &leaves)?;
                if let Some(blend) = &blend {
                    blend_all(blend, &searcher, &mut scored)?;
                }
                // Every order and page is cut from the visible matches alone, after they were counted.
                (
                    order::page(&searcher, &self.fields, scored, sort, page)?,
                    total,
                )
            }
        };
        let snippets = if request.snippets && !ranked.is_empty() {
            Some(SnippetMaker::new(&searcher, &expr, &self.fields)?)
        } else {
            None
        };
        let (hits, addresses) = load_hits(&searcher, &self.fields, ranked, snippets.as_ref())?;
        let suggestion = if suggest && total == 0 {
            let exact = [self.fields.content, self.fields.name];
            let in_index = |term: &str| crate::suggest::held(&searcher, &exact, term);
            let mut count = |query: &str| -> Result<usize, QueryError> {
                let corrected = SearchRequest {
                    query: query.to_owned(),
                    limit: 0,
                    offset: 0,
                    snippets: false,
                    ..request.clone()
                };
                let found = self.search_inner(&corrected, visible, false, exhaustive);
                Ok(found.map_or(0, |r| r.total))
            };
            crate::suggest::suggest(&request.query, &in_index, &mut count)?
        } else {
            None
        };
        debug!(
            query = %request.query,
            total,
            returned = hits.len(),
            elapsed_us = started.elapsed().as_micros() as u64,
            "search"
        );
        let kept = Kept {
            searcher,
            expr,
            addresses,
            maker: snippets,
        };
        let results = SearchResults {
            hits,
            total,
            suggestion,
        };
        Ok((results, kept))
    }
}

/// What a search keeps to make its hits' snippets later (`shown::LaterSnippets`).
pub(crate) struct Kept {
    /// The index as the search saw it.
    pub(crate) searcher: Searcher,
    /// The parsed query, with its stems.
    pub(crate) expr: Expr,
    /// The document of each hit, in the order of the hits.
    pub(crate) addresses: Vec<DocAddress>,
    /// The search's snippet maker, when it made snippets.
    pub(crate) maker: Option<SnippetMaker>,
}

/// BM25's statistics of the files and parts alone: the chunk documents that store long texts
/// (`fandex_schema::chunks`) hold no indexed text and are not counted as documents, so scores are what
/// they would be with every text stored in its own document.
struct FileStatistics<'a> {
    searcher: &'a Searcher,
    documents: u64,
}

impl<'a> FileStatistics<'a> {
    /// Counted as tantivy counts them (deleted documents too, until a merge drops them), so that no
    /// term is in more documents than there are.
    fn of(searcher: &'a Searcher, fields: &Fields) -> Result<Self, QueryError> {
        let all = Bm25StatisticsProvider::total_num_docs(searcher)?;
        let chunk_docs = searcher.doc_freq(&chunks::chunk_marker(fields))?;
        Ok(Self {
            searcher,
            documents: all.saturating_sub(chunk_docs),
        })
    }
}

impl Bm25StatisticsProvider for FileStatistics<'_> {
    fn total_num_tokens(&self, field: Field) -> tantivy::Result<u64> {
        self.searcher.total_num_tokens(field)
    }

    fn total_num_docs(&self) -> tantivy::Result<u64> {
        Ok(self.documents)
    }

    fn doc_freq(&self, term: &tantivy::Term) -> tantivy::Result<u64> {
        self.searcher.doc_freq(term)
    }
}

/// Hits loaded by one thread before a second one is worth starting.
const HITS_PER_THREAD: usize = 4;

/// Loads the stored fields of `ranked` (best first) and makes their snippets, on two threads when
/// there are enough of them (a hit's text can be megabytes to read and scan); keeps their order. Also
/// returns each hit's document.
fn load_hits(
    searcher: &Searcher,
    fields: &Fields,
    ranked: Vec<Ranked>,
    snippets: Option<&SnippetMaker>,
) -> Result<(Vec<Hit>, Vec<DocAddress>), QueryError> {
    let load = |docs: &[(usize, Ranked)]| -> Result<Vec<(usize, Hit, DocAddress)>, QueryError> {
        let mut hits = Vec::with_capacity(docs.len());
        for (rank, doc) in docs {
            let values: StoredValues = searcher.doc(doc.address)?;
            let Some(file) = StoredFile::of(values, fields) else {
                warn!(
                    file_id = doc.file_id,
                    "a matching document lacks stored fields; it is left out of the results"
                );
                continue;
            };
            let snippet = file.snippet(snippets, searcher, doc.address)?;
            let hit = Hit {
                file_id: Some(file.file_id),
                path: file.path,
                score: doc.score,
                size: file.size,
                mtime_ns: file.mtime_ns,
                snippet,
                part: file.part,
                mime: file.mime,
                title: file.title,
                author: file.author,
                subject: file.subject,
            };
            hits.push((*rank, hit, doc.address));
        }
        Ok(hits)
    };
    let ranked: Vec<(usize, Ranked)> = ranked.into_iter().enumerate().collect();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(2));
    let hits = if threads < 2 || ranked.len() < 2 * HITS_PER_THREAD {
        load(&ranked)?
    } else {
        // Interleaved halves, so both threads get some of the best (often the largest) documents.
        let (even, odd): (Vec<_>, Vec<_>) = ranked.into_iter().partition(|(i, _)| i % 2 == 0);
        let (first, second) = std::thread::scope(|s| {
            let helper = s.spawn(|| load(&odd));
            let first = load(&even);
            let second = helper
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (first, second)
        });
        let mut hits = first?;
        hits.extend(second?);
        hits.sort_unstable_by_key(|(rank, _, _)| *rank);
        hits
    };
    Ok(hits
        .into_iter()
        .map(|(_, hit, address)| (hit, address))
        .unzip())
}

/// The stored values of a hit, read straight into owned values by field: unlike [`TantivyDocument`],
/// whose reading copies every value once more into its own arena (for a text of megabytes, a tenth of
/// a search's time).
#[derive(Debug, Default)]
struct StoredValues(Vec<(Field, OwnedValue)>);

impl DocumentDeserialize for StoredValues {
    fn deserialize<'de, D>(mut deserializer: D) -> Result<Self, DeserializeError>
    where
        D: DocumentDeserializer<'de>,
    {
        let mut values = Vec::with_capacity(deserializer.size_hint());
        while let Some(entry) = deserializer.next_field::<OwnedValue>()? {
            values.push(entry);
        }
        Ok(Self(values))
    }
}

/// The stored fields of a hit.
struct StoredFile {
    file_id: u64,
    path: PathBuf,
    size: u64,
    mtime_ns: i64,
    /// Empty when the file has none (binary files), or when it is stored in chunks.
    text: String,
    /// Where the chunks of a long text are (see `fandex_schema::chunks`).
    chunks: Option<ChunkTable>,
    part_ord: u64,
    part: Option<String>,
    mime: Option<String>,
    title: Option<String>,
    author: Option<String>,
    subject: Option<String>,
}

impl StoredFile {
    /// Takes the fields out of `values`; `None` when one is missing (the text and the document's
    /// metadata may be).
    fn of(values: StoredValues, fields: &Fields) -> Option<Self> {
        let (mut file_id, mut path, mut size, mut mtime_ns, mut text) =
            (None, None, None, None, None);
        let (mut part, mut mime, mut chunks, mut part_ord) = (None, None, None, 0);
        let (mut title, mut author, mut subject) = (Vec::new(), Vec::new(), Vec::new());
        for (field, value) in values.0 {
            match value {
                OwnedValue::U64(v) if field == fields.file_id => file_id = Some(v),
                OwnedValue::U64(v) if field == fields.size => size = Some(v),
                OwnedValue::I64(v) if field == fields.mtime => mtime_ns = Some(v),
                OwnedValue::Bytes(v) if field == fields.path && path.is_none() => path = Some(v),
                OwnedValue::U64(v) if field == fields.part_ord => part_ord = v,
                OwnedValue::Str(v) if field == fields.text && text.is_none() => text = Some(v),
                OwnedValue::Bytes(v) if field == fields.chunks => chunks = ChunkTable::decode(&v),
                OwnedValue::Str(v) if field == fields.part && part.is_none() => part = Some(v),
                OwnedValue::Str(v) if field == fields.mime && mime.is_none() => mime = Some(v),
                OwnedValue::Str(v) if field == fields.title => title.push(v),
                OwnedValue::Str(v) if field == fields.author => author.push(v),
                OwnedValue::Str(v) if field == fields.subject => subject.push(v),
                _ => {}
            }
        }
        let joined = |values: Vec<String>| (!values.is_empty()).then(|| values.join("; "));
        Some(Self {
            file_id: file_id?,
            path: PathBuf::from(OsString::from_vec(path?)),
            size: size?,
            mtime_ns: mtime_ns?,
            text: text.unwrap_or_default(),
            chunks,
            part_ord,
            part: part.filter(|p| !p.is_empty()),
            mime: mime.filter(|m| !m.is_empty()),
            title: joined(title),
            author: joined(author),
            subject: joined(subject),
        })
    }
}

pub(crate) mod shown;

#[cfg(test)]
mod tests;
