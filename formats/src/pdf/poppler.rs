//! PDF through poppler's `pdftotext`, a child process of this one: `pdftotext -htmlmeta fd://0 -` reads the
//! PDF from its standard input (the already-open file's descriptor, or a pipe fed with a member's bytes:
//! no path is opened) and writes the Info dictionary as an HTML head, then the text, each page ended by a
//! form feed. The child inherits this process's limits and confinement (in a worker: rlimits, landlock,
//! seccomp, its process group, which the pool kills on timeout) and is killed when this thread ends
//! (`PR_SET_PDEATHSIG`). Its output is read up to the text cap, then it is killed; its stderr (bounded)
//! says why it failed: a password is needed, or the file is not a readable PDF.

use std::fs::File;
use std::io::{self, Read as _, Write};
use std::os::fd::AsFd;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

use super::outcome::{Failure, Read};
use crate::document::{Document, MetaField};
use crate::kind::Kind;

/// What the child reads as its standard input.
pub(super) enum Stdin<'a> {
    /// The open PDF file itself (its descriptor is duplicated; the child reads it from the start).
    File(&'a File),
    /// A PDF in memory (a member of a container), written to a pipe.
    Bytes(&'a [u8]),
}

/// Longest head (`<head>` with the metadata) read before the text starts.
const MAX_HEAD: usize = 64 << 10;

/// Most bytes of the child's stderr kept (the first ones: poppler names the problem first).
const MAX_STDERR: usize = 4 << 10;

/// What poppler writes when a PDF needs a password.
const NEEDS_PASSWORD: &str = "Incorrect password";

/// The Info dictionary's keys as `pdftotext -htmlmeta` writes them (`<title>` apart), with their fields.
const META: [(&str, MetaField); 4] = [
    ("Author", MetaField::Author),
    ("Subject", MetaField::Subject),
    ("Keywords", MetaField::Keywords),
    ("CreationDate", MetaField::Created),
];

/// The files and directories a process must be able to read (and execute from) to run `program`: its
/// own directory, the system's programs and libraries and the dynamic loader's cache. A sandbox that
/// runs `pdftotext` allows these (see `fandex_sandbox::WorkerLimits::exec_paths`).
pub fn helper_paths(program: &Path) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = ["/usr", "/lib", "/lib64", "/bin", "/etc/ld.so.cache"]
        .into_iter()
        .map(PathBuf::from)
        .collect();
    if let Some(dir) = program.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        paths.push(dir.to_path_buf());
    }
    paths
}

/// Runs `program` on `stdin`, keeping at most `max_text` bytes of text. The outer error: the program
/// could not start (the caller reads the PDF another way); the inner one: the PDF's.
pub(super) fn read(
    program: &Path,
    stdin: Stdin<'_>,
    max_text: usize,
) -> io::Result<Result<Read, Failure>> {
    let mut command = Command::new(program);
    command
        .args(["-htmlmeta", "-enc", "UTF-8", "fd://0", "-"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    match stdin {
        Stdin::File(file) => command.stdin(Stdio::from(file.try_clone()?)),
        Stdin::Bytes(_) => command.stdin(Stdio::piped()),
    };
    fandex_sandbox::die_with_parent(&mut command);
    let mut child = command.spawn()?;
    if let (Stdin::Bytes(bytes), Some(mut pipe)) = (stdin, child.stdin.take()) {
        // poppler reads all of its input before it writes anything (a PDF's index is at its end). A child
        // that stops reading early has failed: its exit status and stderr say why.
        let _ = pipe.write_all(bytes);
    }
    let output = collect(&mut child, max_text);
    let status = child.wait()?;
    let output = output?;
    Ok(judge(output, status))
}

/// What the child wrote.
struct Output {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    /// Its text went past the cap and it was killed.
    capped: bool,
}

/// Reads the child's stdout and stderr together until both end, or until its text passes `max_text`
/// (then the child is killed).
fn collect(child: &mut Child, max_text: usize) -> io::Result<Output> {
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let mut stderr = child.stderr.take().expect("stderr is piped");
    let mut output = Output {
        stdout: Vec::new(),
        stderr: Vec::new(),
        capped: false,
    };
    let (mut out_open, mut err_open) = (true, true);
    // Where the text starts, once the head has been read.
    let mut text_start = None;
    let mut buffer = vec![0; 64 << 10];
    while out_open || err_open {
        let mut fds = Vec::with_capacity(2);
        if out_open {
            fds.push(PollFd::new(stdout.as_fd(), PollFlags::POLLIN));
        }
        if err_open {
            fds.push(PollFd::new(stderr.as_fd(), PollFlags::POLLIN));
        }
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => continue,
            Err(errno) => return Err(errno.into()),
        }
        let ready: Vec<bool> = fds.iter().map(|fd| fd.any().unwrap_or(true)).collect();
        let (out_ready, err_ready) = match (out_open, err_open) {
            (true, true) => (ready[0], ready[1]),
            (true, false) => (ready[0], false),
            _ => (false, ready[0]),
        };
        if out_ready {
            let n = stdout.read(&mut buffer)?;
            output.stdout.extend_from_slice(&buffer[..n]);
            out_open = n > 0;
            if text_start.is_none() {
                text_start = find(&output.stdout, b"<pre>\n");
            }
            // A head that never ends counts as text past MAX_HEAD, so a hostile one is bounded too.
            let text = match text_start {
                Some(start) => output.stdout.len() - start,
                None => output.stdout.len().saturating_sub(MAX_HEAD),
            };
            if text > max_text {
                output.capped = true;
                let _ = child.kill();
                return Ok(output);
            }
        }
        if err_ready {
            let n = stderr.read(&mut buffer)?;
            let room = MAX_STDERR.saturating_sub(output.stderr.len());
            output.stderr.extend_from_slice(&buffer[..n.min(room)]);
            err_open = n > 0;
        }
    }
    Ok(output)
}

/// The first position of `needle` in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The PDF's document or failure, from what the child wrote and how it ended.
fn judge(output: Output, status: std::process::ExitStatus) -> Result<Read, Failure> {
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !status.success() && !output.capped {
        if stderr.contains(NEEDS_PASSWORD) {
            return Err(Failure::Encrypted);
        }
        let ended = match (status.code(), status.signal()) {
            (Some(code), _) => format!("pdftotext exited with status {code}"),
            (None, Some(signal)) => format!("pdftotext killed by signal {signal}"),
            _ => format!("pdftotext ended: {status}"),
        };
        let reason = stderr
            .lines()
            .find(|line| line.contains("Error"))
            .map_or(ended, |line| line.trim().to_string());
        return Err(Failure::Malformed(reason));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let (head, body) = match stdout.find("<pre>\n") {
        Some(start) => (&stdout[..start], &stdout[start + 6..]),
        None => (&stdout[..], ""),
    };
    let body = body
        .strip_suffix("</pre>\n</body>\n</html>\n")
        .unwrap_or(body);
    let mut doc = Document::new(Kind::Pdf.mime());
    meta(head, &mut doc);
    let pages = body.matches('\u{c}').count();
    doc.text = body.replace('\u{c}', "\n");
    if output.capped {
        doc.notes.push(format!(
            "cap reached: text, stopped before page {}",
            pages + 1
        ));
    } else {
        doc.push_meta(MetaField::Pages, &pages.to_string());
    }
    Ok(Read { doc, pages })
}

/// The metadata of the HTML head: `<title>` and the `<meta name=".." content=".."/>` lines.
fn meta(head: &str, doc: &mut Document) {
    if let Some(start) = head.find("<title>") {
        let rest = &head[start + 7..];
        if let Some(end) = rest.find("</title>") {
            doc.push_meta(MetaField::Title, &unescape(&rest[..end]));
        }
    }
    for line in head.lines() {
        for (key, field) in META {
            let prefix = format!("<meta name=\"{key}\" content=\"");
            if let Some(value) = line
                .strip_prefix(&prefix)
                .and_then(|rest| rest.strip_suffix("\"/>"))
            {
                doc.push_meta(field, &unescape(value));
            }
        }
    }
}

/// The text of an HTML attribute or element as poppler escapes it (`&amp; &lt; &gt; &quot; &apos;`, and
/// numeric references).
fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let Some(semi) = rest.find(';').filter(|&semi| semi <= 10) else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let entity = &rest[1..semi];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|dec| dec.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entities_are_decoded() {
        assert_eq!(
            unescape("A &amp; B &lt;c&gt; &quot;d&quot; &#39;e&#x27;"),
            "A & B <c> \"d\" 'e'"
        );
        assert_eq!(unescape("fish & chips &bogus; &"), "fish & chips &bogus; &");
    }

    #[test]
    fn head_and_pages_are_parsed() {
        let out = "<html>\n<head>\n<title>T &amp; U</title>\n<meta name=\"Author\" content=\"Ada\"/>\n\
                   <meta name=\"CreationDate\" content=\"2020-01-02T03:04:05+01\"/>\n</head>\n<body>\n\
                   <pre>\none\n\u{c}two\n\u{c}</pre>\n</body>\n</html>\n";
        let output = Output {
            stdout: out.as_bytes().to_vec(),
            stderr: Vec::new(),
            capped: false,
        };
        let Ok(read) = judge(output, std::process::ExitStatus::from_raw(0)) else {
            panic!("not read");
        };
        assert_eq!(read.pages, 2);
        assert_eq!(read.doc.text, "one\n\ntwo\n\n");
        assert_eq!(read.doc.meta(MetaField::Title), Some("T & U"));
        assert_eq!(read.doc.meta(MetaField::Author), Some("Ada"));
        assert_eq!(
            read.doc.meta(MetaField::Created),
            Some("2020-01-02T03:04:05+01")
        );
        assert_eq!(read.doc.meta(MetaField::Pages), Some("2"));
    }
}
