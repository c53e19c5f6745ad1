//! Where `fandex search`'s query ends and its options begin, decided before clap parses the line.
//!
//! A query is free text whose words may start with `-` (`-draft` excludes a word), so clap alone would
//! either take every word after the first as query text (`fandex search zlib -n 1` searching for
//! `zlib -n 1`, `--bogus` becoming a query word) or refuse `-draft` as an unknown option. The rule here,
//! from the command's own clap definition:
//!
//! - options may come anywhere, before or after query words; `--` ends them: everything after it is query;
//! - a word starting with `--` is an option: a known one (its value taken from the next word unless given
//!   with `=`), else an error, never query text;
//! - a word starting with a single `-` is an option only when every letter after the dash is one of the
//!   command's short options (`-n 5`, `-h`); otherwise (`-draft`, `-5`, `-name:x`) it is a query word;
//! - every other word is a query word.
//!
//! The line is rewritten as the options, then `--`, then the query words, which clap then parses plainly.

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;

/// The subcommand whose trailing positional is free query text.
const QUERY_COMMAND: &str = "search";

/// Reorders `args` (with the program name first) so that `fandex search`'s options come before its query
/// words, separated by `--` (see the module documentation). Other command lines are returned unchanged.
pub fn separate_query(command: &clap::Command, args: Vec<OsString>) -> Vec<OsString> {
    let mut command = command.clone();
    command.build();
    let Some(at) = subcommand_position(&command, &args) else {
        return args;
    };
    if args[at] != QUERY_COMMAND {
        return args;
    }
    let Some(search) = command.find_subcommand(QUERY_COMMAND) else {
        return args;
    };
    let options = Options::of(search);
    let mut out: Vec<OsString> = args[..=at].to_vec();
    let mut query = Vec::new();
    let mut rest = args[at + 1..].iter();
    while let Some(word) = rest.next() {
        let bytes = word.as_bytes();
        if bytes == b"--" {
            query.extend(rest.by_ref().cloned());
            break;
        }
        match options.classify(bytes) {
            Word::Query => query.push(word.clone()),
            Word::Option => out.push(word.clone()),
            Word::OptionWithValue => {
                out.push(word.clone());
                if let Some(value) = rest.next() {
                    out.push(value.clone());
                }
            }
        }
    }
    if !query.is_empty() {
        out.push("--".into());
        out.extend(query);
    }
    out
}

/// The index of the subcommand's name in `args`: the first word that is neither the program name, a
/// top-level option, nor an option's value.
fn subcommand_position(command: &clap::Command, args: &[OsString]) -> Option<usize> {
    let options = Options::of(command);
    let mut i = 1;
    while let Some(word) = args.get(i) {
        match options.classify(word.as_bytes()) {
            Word::Query => return Some(i),
            Word::Option => i += 1,
            Word::OptionWithValue => i += 2,
        }
    }
    None
}

/// What one word of a command line is.
#[derive(Debug, PartialEq)]
enum Word {
    /// Query text (or, at the top level, the subcommand's name).
    Query,
    /// An option whose value, if any, is in the same word.
    Option,
    /// An option whose value is the next word.
    OptionWithValue,
}

/// A command's options: long names and short letters, and which take a value.
struct Options {
    /// (long name, takes a value)
    long: Vec<(String, bool)>,
    /// (short letter, takes a value)
    short: Vec<(char, bool)>,
}

impl Options {
    fn of(command: &clap::Command) -> Self {
        let mut long = Vec::new();
        let mut short = Vec::new();
        for arg in command.get_arguments().filter(|a| !a.is_positional()) {
            let takes_value = arg.get_action().takes_values();
            for name in arg.get_long_and_visible_aliases().into_iter().flatten() {
                long.push((name.to_owned(), takes_value));
            }
            for letter in arg.get_short_and_visible_aliases().into_iter().flatten() {
                short.push((letter, takes_value));
            }
        }
        Self { long, short }
    }

    fn classify(&self, word: &[u8]) -> Word {
        if let Some(name) = word.strip_prefix(b"--") {
            if name.contains(&b'=') {
                return Word::Option;
            }
            let name = String::from_utf8_lossy(name);
            return match self.long.iter().find(|(long, _)| *long == name) {
                Some((_, true)) => Word::OptionWithValue,
                // Unknown: left for clap to refuse.
                _ => Word::Option,
            };
        }
        let Some(letters) = word.strip_prefix(b"-").filter(|l| !l.is_empty()) else {
            return Word::Query;
        };
        let Ok(letters) = std::str::from_utf8(letters) else {
            return Word::Query;
        };
        let known: Option<Vec<bool>> = letters
            .chars()
            .map(|c| self.short.iter().find(|(s, _)| *s == c).map(|(_, v)| *v))
            .collect();
        match known {
            None => Word::Query,
            Some(takes) if takes.last() == Some(&true) => Word::OptionWithValue,
            Some(_) => Word::Option,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{Arg, ArgAction, Command};

    fn os(words: &[&str]) -> Vec<OsString> {
        words.iter().map(OsString::from).collect()
    }

    /// The shape of fandex's command line: a global option with a value, `search` with a flag, an
    /// option with a short name and a query.
    fn command() -> Command {
        Command::new("fandex")
            .arg(Arg::new("index-dir").long("index-dir").global(true))
            .subcommand(
                Command::new("search")
                    .arg(Arg::new("json").long("json").action(ArgAction::SetTrue))
                    .arg(Arg::new("limit").long("limit").short('n'))
                    .arg(Arg::new("query").num_args(1..).required(true)),
            )
            .subcommand(Command::new("index").arg(Arg::new("roots").num_args(0..)))
    }

    fn separated(words: &[&str]) -> Vec<OsString> {
        separate_query(&command(), os(words))
    }

    #[test]
    fn options_after_the_query_are_options() {
        assert_eq!(
            separated(&["fandex", "search", "zlib", "-n", "1"]),
            os(&["fandex", "search", "-n", "1", "--", "zlib"])
        );
        assert_eq!(
            separated(&[
                "fandex",
                "--index-dir",
                "x",
                "search",
                "a",
                "--limit=3",
                "b",
                "--index-dir",
                "y"
            ]),
            os(&[
                "fandex",
                "--index-dir",
                "x",
                "search",
                "--limit=3",
                "--index-dir",
                "y",
                "--",
                "a",
                "b"
            ])
        );
    }

    #[test]
    fn dash_words_are_query_words_unless_they_are_short_options() {
        assert_eq!(
            separated(&["fandex", "search", "-draft", "-5", "a", "-h"]),
            os(&["fandex", "search", "-h", "--", "-draft", "-5", "a"])
        );
        assert_eq!(
            separated(&["fandex", "search", "a", "--", "-n", "--json"]),
            os(&["fandex", "search", "--", "a", "-n", "--json"])
        );
        // Unknown long options stay options, for clap to refuse.
        assert_eq!(
            separated(&["fandex", "search", "--bogus", "a"]),
            os(&["fandex", "search", "--bogus", "--", "a"])
        );
    }

    #[test]
    fn other_commands_are_untouched() {
        let line = os(&["fandex", "index", "-draft", "--json"]);
        assert_eq!(separate_query(&command(), line.clone()), line);
        let line = os(&["fandex", "--index-dir", "search", "index", "-draft"]);
        assert_eq!(separate_query(&command(), line.clone()), line);
    }
}
