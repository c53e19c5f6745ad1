//! The single processing thread: it receives what the backends observed, in order, and hands it to the
//! [`Normalizer`], which delivers [`crate::Change`]s to the sink.
//!
//! The fanotify threads send [`Raw`] messages (FID batches, fd-group content events, rescans); `notify`'s
//! thread sends inotify events, which the [`InotifyState`] turns into calls on the normalizer. Between
//! messages the engine releases held-back modifications and runs inotify's timers.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, select};

use crate::change::RescanReason;
use crate::event::{Raw, Stopped};
use crate::inotify::InotifyState;
use crate::normalize::Normalizer;

/// The processing thread's state.
pub(crate) struct Engine {
    norm: Normalizer,
    inotify: Option<InotifyState>,
    stop_rx: Receiver<()>,
}

impl Engine {
    /// An engine delivering through `norm`, with the inotify backend if any roots use it; stops when
    /// `stop_rx` is signalled or closed.
    pub(crate) fn new(
        norm: Normalizer,
        inotify: Option<InotifyState>,
        stop_rx: Receiver<()>,
    ) -> Self {
        Self {
            norm,
            inotify,
            stop_rx,
        }
    }

    /// Watches the inotify roots (called once at start, before the kernel readers run).
    pub(crate) fn inotify_start(&mut self) -> Result<(), Stopped> {
        match self.inotify.as_mut() {
            Some(ino) => ino.start(&mut self.norm),
            None => Ok(()),
        }
    }

    fn handle(&mut self, raw: Raw) -> Result<(), Stopped> {
        let r = match raw {
            Raw::Fid(events, read_at) => self.norm.apply_fid(events, read_at),
            Raw::Content { path, fd, final_ } => self.norm.on_content(path, final_, None, Some(fd)),
            Raw::Rescan { scopes, reason } => self.norm.rescan(&scopes, reason),
        };
        self.forget_gone_roots();
        r
    }

    /// Drops the inotify watches of roots that the fanotify log showed moved or deleted.
    fn forget_gone_roots(&mut self) {
        let gone = self.norm.take_roots_gone();
        if let Some(ino) = self.inotify.as_mut()
            && !gone.is_empty()
        {
            ino.root_gone(&gone);
        }
    }

    fn inotify_roots(&self) -> Vec<std::path::PathBuf> {
        self.inotify
            .as_ref()
            .map(|i| i.roots.clone())
            .unwrap_or_default()
    }

    fn next_deadline(&self) -> Option<Instant> {
        let p = self.norm.next_deadline();
        let i = self.inotify.as_ref().and_then(InotifyState::next_deadline);
        match (p, i) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Reports a rescan of the inotify roots if `notify`'s channel dropped events since the last check.
    fn announce_notify_overflow(&mut self) -> Result<(), Stopped> {
        if self
            .norm
            .stats
            .notify_overflow
            .swap(false, Ordering::SeqCst)
        {
            let roots = self.inotify_roots();
            self.norm.rescan(&roots, RescanReason::QueueOverflow)?;
        }
        Ok(())
    }

    /// Runs until stopped or until every producer is gone.
    pub(crate) fn run(
        mut self,
        raw_rx: Receiver<Raw>,
        notify_rx: Receiver<notify::Result<notify::Event>>,
    ) {
        let _ = self.run_inner(raw_rx, notify_rx);
        tracing::debug!("watcher engine stopped");
    }

    fn run_inner(
        &mut self,
        mut raw_rx: Receiver<Raw>,
        mut notify_rx: Receiver<notify::Result<notify::Event>>,
    ) -> Result<(), Stopped> {
        let stop_rx = self.stop_rx.clone();
        loop {
            let timeout = match self.next_deadline() {
                Some(d) => d.saturating_duration_since(Instant::now()),
                None => Duration::from_secs(3600),
            };
            select! {
                recv(raw_rx) -> msg => match msg {
                    Ok(raw) => self.handle(raw)?,
                    // Every kernel reader is gone (or there never was one: inotify only).
                    Err(_) => raw_rx = crossbeam_channel::never(),
                },
                recv(notify_rx) -> msg => match msg {
                    Ok(ev) => {
                        // Events dropped before this one (the channel was full) are announced first, so
                        // nothing that came after them (a sync cookie, say) overtakes their rescan.
                        self.announce_notify_overflow()?;
                        if let Some(ino) = self.inotify.as_mut() {
                            ino.handle(&mut self.norm, ev)?;
                        }
                    }
                    Err(_) => {
                        // The inotify thread is gone: nothing more will come from it.
                        notify_rx = crossbeam_channel::never();
                        let roots = self.inotify_roots();
                        // Without inotify roots (fanotify only) nothing was lost: no warning, no rescan.
                        if !roots.is_empty() {
                            let reason = RescanReason::SourceFailed("inotify thread ended".into());
                            self.norm.rescan(&roots, reason)?;
                        }
                    }
                },
                recv(stop_rx) -> _ => return Err(Stopped),
                default(timeout) => {}
            }
            self.announce_notify_overflow()?;
            let now = Instant::now();
            self.norm.flush_pending(Some(now))?;
            if let Some(ino) = self.inotify.as_mut() {
                ino.tick(&mut self.norm, now)?;
            }
        }
    }
}
