//! Snippets made after the search, for the hits a caller shows: a desktop shell asks for the ids of the
//! matches first and for the descriptions (snippets) of the few it shows afterwards, so a provider
//! searches without snippets and makes them here, for those hits alone.
//!
//! A search can keep what it compiled for that ([`LaterSnippets`]): the index as it saw it, the parsed
//! query and its hits' documents, so their snippets cost no second parse, compile, prefix expansion or
//! match. Without it ([`QueryEngine::snippets`]) the request is compiled again and each hit's document
//! found again.
//!
//! Also where a request becomes the compiled query ([`Compiled`]) and where one document's snippet is
//! made (`StoredFile::snippet`): the search and this use both.

use std::collections::HashSet;
use std::sync::OnceLock;

use fandex_schema::{Fields, chunks};
use tantivy::collector::DocSetCollector;
use tantivy::query::{BooleanQuery, Occur, Query, TermQuery};
use tantivy::schema::IndexRecordOption;
use tantivy::{DocAddress, Searcher, Term};

use super::{Kept, QueryEngine, StoredFile, StoredValues};
use crate::clock::Clock;
use crate::compile::{Env, compile, without_subtrees};
use crate::error::QueryError;
use crate::folders::files_unless_named;
use crate::parse::{Expr, parse, parse_names};
use crate::request::{Hit, SearchRequest, SearchResults, Snippet};
use crate::snippet::SnippetMaker;
use crate::snippet::chunked::ChunkedText;
use crate::stems::add_stems;

/// A request's query as the index runs it.
pub(super) struct Compiled {
    /// The parsed query, with the stems of its words.
    pub(super) expr: Expr,
    /// The tantivy query: files only unless folders are named, hidden subtrees left out.
    pub(super) query: Box<dyn Query>,
    /// Now and the caller's time zone, as the query was compiled with.
    pub(super) clock: Clock,
}

/// A search's hits kept with what the search compiled, to make their snippets later (a search without
/// snippets returned them): [`QueryEngine::search_later`].
///
/// It holds the index as the search saw it (its segments stay open, and on disk, while it lives), so
/// keep a few of them at a time, not one per search ever made.
pub struct LaterSnippets {
    searcher: Searcher,
    fields: Fields,
    /// The parsed query, with its stems.
    expr: Expr,
    /// The document of each hit, in the order of the hits.
    addresses: Vec<DocAddress>,
    /// What makes the snippets (the wanted terms, prefixes expanded), made once, when first needed.
    maker: OnceLock<SnippetMaker>,
}

impl std::fmt::Debug for LaterSnippets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LaterSnippets")
            .field("hits", &self.addresses.len())
            .finish_non_exhaustive()
    }
}

impl LaterSnippets {
    /// What a search `kept` over an index described by `fields`.
    fn new(kept: Kept, fields: Fields) -> Self {
        let maker = OnceLock::new();
        if let Some(made) = kept.maker {
            let _ = maker.set(made);
        }
        Self {
            searcher: kept.searcher,
            fields,
            expr: kept.expr,
            addresses: kept.addresses,
            maker,
        }
    }

    /// The snippets of the hits at `ranks` (their places in the search's hits, from 0), in that order:
    /// the same text the search would have given them with snippets, made from the index as the search
    /// saw it. A rank beyond the hits gets an empty snippet.
    pub fn snippets(&self, ranks: &[usize]) -> Result<Vec<Snippet>, QueryError> {
        let maker = match self.maker.get() {
            Some(maker) => maker,
            None => {
                let made = SnippetMaker::new(&self.searcher, &self.expr, &self.fields)?;
                self.maker.get_or_init(|| made)
            }
        };
        let mut snippets = Vec::with_capacity(ranks.len());
        for &rank in ranks {
            let Some(&address) = self.addresses.get(rank) else {
                snippets.push(Snippet::default());
                continue;
            };
            let values: StoredValues = self.searcher.doc(address)?;
            let snippet = match StoredFile::of(values, &self.fields) {
                Some(file) => file.snippet(Some(maker), &self.searcher, address)?,
                None => Snippet::default(),
            };
            snippets.push(snippet);
        }
        Ok(snippets)
    }
}

impl QueryEngine {
    /// Like [`Self::search`] (whose `request` asks for no snippets, usually), also returning what makes
    /// the snippets of its hits later, for those a caller shows, without compiling the query again.
    pub fn search_later(
        &self,
        request: &SearchRequest,
    ) -> Result<(SearchResults, LaterSnippets), QueryError> {
        let (results, kept) = self.search_kept(request, None, true, false)?;
        Ok((results, LaterSnippets::new(kept, self.fields.clone())))
    }

    /// Parses `request`'s query and compiles it against `searcher`'s index.
    pub(super) fn compiled(
        &self,
        request: &SearchRequest,
        searcher: &Searcher,
    ) -> Result<Compiled, QueryError> {
        let mut expr = if request.names {
            parse_names(&request.query)?
        } else {
            parse(&request.query)?
        };
        let mut stemmer = searcher
            .index()
            .tokenizer_for_field(self.fields.content_stem)?;
        add_stems(&mut expr, &mut stemmer);
        let home = request.home_dir();
        let clock = Clock::now(request.utc_offset_s);
        let env = Env {
            cwd: &request.cwd,
            home: home.as_deref(),
            clock,
        };
        let query = compile(&expr, &self.fields, &env)?;
        let query = files_unless_named(query, &expr, &self.fields);
        let query = without_subtrees(query, &self.fields, &self.hidden_subtrees());
        Ok(Compiled { expr, query, clock })
    }

    /// The snippets `request` would have given `hits` (hits a search of `request` without snippets
    /// returned), in their order: the same text [`Self::search`] with `snippets` makes for them.
    ///
    /// A hit whose file or part no longer matches the query in the index the engine sees now (removed
    /// or changed since) gets an empty snippet, as does a hit without a file id. The cost is that of the
    /// hits, not of the query's matches.
    pub fn snippets(
        &self,
        request: &SearchRequest,
        hits: &[Hit],
    ) -> Result<Vec<Snippet>, QueryError> {
        if hits.is_empty() {
            return Ok(Vec::new());
        }
        let searcher = self.reader.searcher();
        let compiled = self.compiled(request, &searcher)?;
        let maker = SnippetMaker::new(&searcher, &compiled.expr, &self.fields)?;
        let mut snippets = Vec::with_capacity(hits.len());
        for hit in hits {
            let snippet = match self.document_of(&searcher, &*compiled.query, hit)? {
                Some((address, file)) => file.snippet(Some(&maker), &searcher, address)?,
                None => Snippet::default(),
            };
            snippets.push(snippet);
        }
        Ok(snippets)
    }

    /// The document of `hit` (its file's own, or its part's; never a chunk) if `query` matches it, with
    /// its stored fields. Only the documents of the hit's file that match are read, until the hit's.
    fn document_of(
        &self,
        searcher: &Searcher,
        query: &dyn Query,
        hit: &Hit,
    ) -> Result<Option<(DocAddress, StoredFile)>, QueryError> {
        let Some(file_id) = hit.file_id else {
            return Ok(None);
        };
        let file = Term::from_field_u64(self.fields.file_id, file_id);
        let of_file = BooleanQuery::new(vec![
            (Occur::Must, query.box_clone()),
            (
                Occur::Must,
                Box::new(TermQuery::new(file, IndexRecordOption::Basic)),
            ),
            (
                Occur::MustNot,
                Box::new(TermQuery::new(
                    chunks::chunk_marker(&self.fields),
                    IndexRecordOption::Basic,
                )),
            ),
        ]);
        let addresses: HashSet<DocAddress> = searcher.search(&of_file, &DocSetCollector)?;
        let mut addresses: Vec<DocAddress> = addresses.into_iter().collect();
        addresses.sort_unstable();
        for address in addresses {
            let values: StoredValues = searcher.doc(address)?;
            if let Some(file) = StoredFile::of(values, &self.fields)
                && file.path == hit.path
                && file.part == hit.part
            {
                return Ok(Some((address, file)));
            }
        }
        Ok(None)
    }
}

impl StoredFile {
    /// The snippet of this document (at `address`): empty without a `maker` (no snippets asked), from
    /// its chunks when its text is stored in chunks.
    pub(super) fn snippet(
        &self,
        maker: Option<&SnippetMaker>,
        searcher: &Searcher,
        address: DocAddress,
    ) -> Result<Snippet, QueryError> {
        match (maker, &self.chunks) {
            (Some(maker), None) => maker.make(searcher, address, &self.text),
            (Some(maker), Some(table)) => {
                let text = ChunkedText {
                    address,
                    file_id: self.file_id,
                    part_ord: self.part_ord,
                    table,
                };
                maker.make_chunked(searcher, &text)
            }
            (None, _) => Ok(Snippet::default()),
        }
    }
}
