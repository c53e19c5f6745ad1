//! fandex's extraction sandbox: untrusted parsing runs in pooled worker processes.
//!
//! The parent side is [`Pool`]: it starts workers lazily (the program named in [`PoolConfig`], normally fandex
//! itself re-executed as a hidden subcommand), hands each request a worker together with the file's open
//! descriptor (passed over a Unix socketpair with `SCM_RIGHTS`; the worker never opens a path), bounds the
//! wall-clock time and the response size, and replaces a worker that crashes, hits a limit or times out,
//! reporting why as a [`WorkerFailure`].
//!
//! The worker side is [`worker::serve`]: it locks its process down (rlimits, no_new_privs, landlock, seccomp;
//! what the kernel enforced is reported back as a [`Lockdown`]) and then answers requests with the caller's
//! handler until its socket reaches end of file. The payloads are opaque bytes.

mod config;
mod exchange;
mod failure;
mod pool;
mod process;
mod spawner;
mod sys;
mod tail;
mod wire;
pub mod worker;

pub use config::{Credentials, HELPER_PROCESSES, PoolConfig, WorkerLimits};
pub use failure::WorkerFailure;
pub use pool::Pool;
pub use sys::die_with_parent;
pub use wire::{Enforcement, Lockdown};
