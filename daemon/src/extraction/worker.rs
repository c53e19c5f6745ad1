//! The worker's side: lock the process down and parse each document passed to it with `fandex-formats`
//! (plain text and HTML inside documents through the indexer's [`PlainConverter`]).

use std::fs::File;

use fandex_indexer::extract::{Limits as TextLimits, PlainConverter};

use super::wire::{self, Request, Response};

/// Debug builds only (tests): an extraction worker started with this variable set to rules
/// `ACTION:NAME[,ACTION:NAME...]` misbehaves on the file named `NAME`: `segv` (killed by SIGSEGV), `abort`,
/// `hang` (sleeps past any timeout), `alloc` (allocates without bound), `panic`. Release builds ignore it.
pub const TEST_TRIGGER_ENV: &str = "FANDEX_TEST_WORKER_TRIGGER";

/// Serves as an extraction worker on stdin's socket until the parent closes it: call it from the main
/// thread of a process started by a [`super::SandboxParser`]'s pool, before starting any other thread.
pub fn serve_worker() -> std::io::Result<()> {
    fandex_sandbox::worker::serve(|file, body| wire::encode_response(&handle(&file, body)))
}

/// One request: the document, or why there is none.
fn handle(file: &File, body: &[u8]) -> Response {
    let Request { name, kind, limits } = wire::decode_request(body)?;
    #[cfg(debug_assertions)]
    test_trigger(&name);
    let plain = PlainConverter {
        limits: TextLimits {
            max_text_bytes: limits.max_text_bytes,
            max_read_bytes: limits.max_input_bytes,
            ..TextLimits::default()
        },
    };
    fandex_formats::extract(file, &name, kind, &limits, &plain).map_err(|err| err.to_string())
}

/// Misbehaves as [`TEST_TRIGGER_ENV`] asks for the file `name`.
#[cfg(debug_assertions)]
fn test_trigger(name: &[u8]) {
    use std::os::unix::ffi::OsStrExt;
    let Some(rules) = std::env::var_os(TEST_TRIGGER_ENV) else {
        return;
    };
    for rule in rules.as_bytes().split(|b| *b == b',') {
        let Some(colon) = rule.iter().position(|b| *b == b':') else {
            continue;
        };
        if &rule[colon + 1..] != name {
            continue;
        }
        match &rule[..colon] {
            b"segv" => {
                // std's stack-overflow handler takes the first SIGSEGV that is not a guard-page fault,
                // restores the default action and returns; the second one kills.
                for _ in 0..2 {
                    let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGSEGV);
                }
            }
            b"abort" => std::process::abort(),
            b"hang" => std::thread::sleep(std::time::Duration::from_secs(3600)),
            b"alloc" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![1; 16 << 20]);
                    std::hint::black_box(&hoard);
                }
            }
            b"panic" => panic!("test trigger"),
            _ => {}
        }
    }
}
