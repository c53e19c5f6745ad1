//! fanotify's system calls over `libc` (groups, marks, file handles, event descriptors) and a safe parser
//! of its event stream (metadata and FID info records). The generic calls are in `crate::sys`.
//!
//! Every function here either returns an owned, checked result or an `io::Error`; callers never see a raw
//! pointer.

use std::ffi::OsStr;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::sys::cstring;

/// Size of `struct fanotify_event_metadata`.
const METADATA_LEN: usize = 24;

/// `fanotify_init(flags, event_f_flags)`.
pub fn fanotify_init(flags: libc::c_uint, event_f_flags: libc::c_uint) -> io::Result<OwnedFd> {
    // SAFETY: plain syscall with integer arguments; on success it returns a new descriptor we own.
    let fd = unsafe { libc::fanotify_init(flags, event_f_flags) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a fresh, valid descriptor returned by the kernel and owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `fanotify_mark(fd, flags, mask, AT_FDCWD, path)`.
pub fn fanotify_mark(
    group: BorrowedFd<'_>,
    flags: libc::c_uint,
    mask: u64,
    path: &Path,
) -> io::Result<()> {
    let c = cstring(path)?;
    // SAFETY: `group` is a live descriptor, `c` is a NUL-terminated string that outlives the call.
    let rc =
        unsafe { libc::fanotify_mark(group.as_raw_fd(), flags, mask, libc::AT_FDCWD, c.as_ptr()) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// A file handle as the kernel reports it: `handle_type` and the opaque bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Handle {
    /// The filesystem id the handle belongs to.
    pub fsid: [i32; 2],
    /// `file_handle.handle_type`.
    pub handle_type: i32,
    /// `file_handle.f_handle`.
    pub bytes: Vec<u8>,
}

/// `name_to_handle_at(fd, "", AT_EMPTY_PATH)`: the handle of an open file (matches the FID group's).
pub fn handle_of_fd(fd: BorrowedFd<'_>, fsid: [i32; 2]) -> io::Result<Handle> {
    const CAP: usize = libc::MAX_HANDLE_SZ as usize;
    // file_handle header (8 bytes) followed by up to MAX_HANDLE_SZ bytes; u32-aligned storage.
    let mut buf = [0u32; 2 + CAP / 4];
    buf[0] = CAP as u32;
    let mut mount_id: libc::c_int = 0;
    let empty = c"";
    // SAFETY: `buf` is large enough for a file_handle with `handle_bytes = CAP`, properly aligned for it,
    // and lives across the call; `empty` is a NUL-terminated string; `mount_id` is a valid out-pointer.
    let rc = unsafe {
        libc::name_to_handle_at(
            fd.as_raw_fd(),
            empty.as_ptr(),
            buf.as_mut_ptr().cast::<libc::file_handle>(),
            &mut mount_id,
            libc::AT_EMPTY_PATH,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    let len = (buf[0] as usize).min(CAP);
    let handle_type = buf[1] as i32;
    let bytes: Vec<u8> = buf[2..]
        .iter()
        .flat_map(|w| w.to_ne_bytes())
        .take(len)
        .collect();
    Ok(Handle {
        fsid,
        handle_type,
        bytes,
    })
}

/// `open_by_handle_at(mount_fd, handle, flags)`.
pub fn open_by_handle(
    mount_fd: BorrowedFd<'_>,
    handle: &Handle,
    flags: libc::c_int,
) -> io::Result<OwnedFd> {
    const CAP: usize = libc::MAX_HANDLE_SZ as usize;
    if handle.bytes.len() > CAP {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    let mut buf = [0u32; 2 + CAP / 4];
    buf[0] = handle.bytes.len() as u32;
    buf[1] = handle.handle_type as u32;
    for (i, chunk) in handle.bytes.chunks(4).enumerate() {
        let mut w = [0u8; 4];
        w[..chunk.len()].copy_from_slice(chunk);
        buf[2 + i] = u32::from_ne_bytes(w);
    }
    // SAFETY: `buf` holds a well-formed file_handle (header + `handle_bytes` bytes), is aligned and lives
    // across the call; the result is a new descriptor we own.
    let fd = unsafe {
        libc::open_by_handle_at(
            mount_fd.as_raw_fd(),
            buf.as_mut_ptr().cast::<libc::file_handle>(),
            flags,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fresh descriptor owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Takes ownership of a descriptor number the kernel installed for us in an event.
///
/// Returns None for negative values (`FAN_NOFD`, or an error code with `FAN_REPORT_FD_ERROR`).
pub fn adopt_event_fd(fd: RawFd) -> Option<OwnedFd> {
    if fd < 0 {
        return None;
    }
    // SAFETY: the kernel installed this descriptor in our table for this event only; nobody else owns it,
    // and we adopt each event's descriptor exactly once.
    Some(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// One fanotify event: its metadata and raw info records.
#[derive(Debug)]
pub struct RawEvent {
    /// The event mask.
    pub mask: u64,
    /// The event fd (`FAN_NOFD` in FID mode).
    pub fd: RawFd,
    /// The pid of the process that caused it (0 if unknown).
    pub pid: i32,
    /// Parsed info records (FID groups only).
    pub records: Vec<InfoRecord>,
}

/// A FID info record.
#[derive(Debug, Clone)]
pub struct InfoRecord {
    /// `FAN_EVENT_INFO_TYPE_*`.
    pub info_type: u8,
    /// The handle the record carries.
    pub handle: Handle,
    /// The name, for `*DFID_NAME` records.
    pub name: Option<Vec<u8>>,
}

fn u16_at(b: &[u8], off: usize) -> Option<u16> {
    b.get(off..off + 2)
        .map(|s| u16::from_ne_bytes([s[0], s[1]]))
}
fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    b.get(off..off + 4)
        .map(|s| u32::from_ne_bytes([s[0], s[1], s[2], s[3]]))
}
fn u64_at(b: &[u8], off: usize) -> Option<u64> {
    b.get(off..off + 8)
        .and_then(|s| <[u8; 8]>::try_from(s).ok())
        .map(u64::from_ne_bytes)
}

/// Parses a buffer filled by `read()` on a fanotify group into events.
///
/// Malformed input never panics: parsing stops at the first inconsistent length, and every fd already seen
/// is still returned so the caller can close it. `truncated` is set when something could not be parsed.
pub fn parse_events(buf: &[u8]) -> (Vec<RawEvent>, bool) {
    let mut out = Vec::new();
    let mut off = 0usize;
    while off + METADATA_LEN <= buf.len() {
        let Some(event_len) = u32_at(buf, off).map(|v| v as usize) else {
            break;
        };
        let vers = buf[off + 4];
        let Some(metadata_len) = u16_at(buf, off + 6).map(usize::from) else {
            break;
        };
        let (Some(mask), Some(fd), Some(pid)) = (
            u64_at(buf, off + 8),
            u32_at(buf, off + 16),
            u32_at(buf, off + 20),
        ) else {
            break;
        };
        let fd = fd as i32;
        if vers != libc::FANOTIFY_METADATA_VERSION
            || event_len < METADATA_LEN
            || metadata_len < METADATA_LEN
            || metadata_len > event_len
            || off + event_len > buf.len()
        {
            // Keep the fd so it is closed, then give up on the rest of the buffer.
            out.push(RawEvent {
                mask,
                fd,
                pid: pid as i32,
                records: Vec::new(),
            });
            return (out, true);
        }
        let records = parse_records(&buf[off + metadata_len..off + event_len]);
        out.push(RawEvent {
            mask,
            fd,
            pid: pid as i32,
            records,
        });
        off += event_len;
    }
    (out, off != buf.len())
}

fn parse_records(mut b: &[u8]) -> Vec<InfoRecord> {
    let mut out = Vec::new();
    while b.len() >= 4 {
        let info_type = b[0];
        let Some(len) = u16_at(b, 2).map(usize::from) else {
            break;
        };
        if len < 4 || len > b.len() {
            break;
        }
        let rec = &b[..len];
        b = &b[len..];
        match info_type {
            libc::FAN_EVENT_INFO_TYPE_FID
            | libc::FAN_EVENT_INFO_TYPE_DFID
            | libc::FAN_EVENT_INFO_TYPE_DFID_NAME
            | libc::FAN_EVENT_INFO_TYPE_OLD_DFID_NAME
            | libc::FAN_EVENT_INFO_TYPE_NEW_DFID_NAME => {
                // hdr(4) fsid(8) handle_bytes(4) handle_type(4) f_handle[handle_bytes] [name\0]
                let (Some(f0), Some(f1), Some(hb), Some(ht)) = (
                    u32_at(rec, 4),
                    u32_at(rec, 8),
                    u32_at(rec, 12),
                    u32_at(rec, 16),
                ) else {
                    continue;
                };
                let hb = hb as usize;
                let Some(bytes) = rec.get(20..20 + hb) else {
                    continue;
                };
                let name = if matches!(
                    info_type,
                    libc::FAN_EVENT_INFO_TYPE_DFID_NAME
                        | libc::FAN_EVENT_INFO_TYPE_OLD_DFID_NAME
                        | libc::FAN_EVENT_INFO_TYPE_NEW_DFID_NAME
                ) {
                    let rest = rec.get(20 + hb..).unwrap_or(&[]);
                    let end = rest.iter().position(|&c| c == 0).unwrap_or(rest.len());
                    Some(rest[..end].to_vec())
                } else {
                    None
                };
                out.push(InfoRecord {
                    info_type,
                    handle: Handle {
                        fsid: [f0 as i32, f1 as i32],
                        handle_type: ht as i32,
                        bytes: bytes.to_vec(),
                    },
                    name,
                });
            }
            _ => {}
        }
    }
    out
}

/// Joins a directory path and a name reported by the kernel ("." means the directory itself).
pub fn join_name(dir: &Path, name: &[u8]) -> PathBuf {
    if name.is_empty() || name == b"." {
        dir.to_path_buf()
    } else {
        dir.join(OsStr::from_bytes(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metadata(event_len: u32, mask: u64, fd: i32, pid: i32) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&event_len.to_ne_bytes());
        v.push(libc::FANOTIFY_METADATA_VERSION);
        v.push(0);
        v.extend_from_slice(&24u16.to_ne_bytes());
        v.extend_from_slice(&mask.to_ne_bytes());
        v.extend_from_slice(&fd.to_ne_bytes());
        v.extend_from_slice(&pid.to_ne_bytes());
        v
    }

    fn record(info_type: u8, handle: &[u8], name: Option<&[u8]>) -> Vec<u8> {
        let mut body = Vec::new();
        body.extend_from_slice(&7i32.to_ne_bytes());
        body.extend_from_slice(&9i32.to_ne_bytes());
        body.extend_from_slice(&(handle.len() as u32).to_ne_bytes());
        body.extend_from_slice(&1i32.to_ne_bytes());
        body.extend_from_slice(handle);
        if let Some(n) = name {
            body.extend_from_slice(n);
            body.push(0);
        }
        while (body.len() + 4) % 4 != 0 {
            body.push(0);
        }
        let mut v = vec![info_type, 0];
        v.extend_from_slice(&((body.len() + 4) as u16).to_ne_bytes());
        v.extend_from_slice(&body);
        v
    }

    #[test]
    fn parses_rename_event_with_both_names() {
        let mut recs = record(
            libc::FAN_EVENT_INFO_TYPE_OLD_DFID_NAME,
            &[1, 2, 3, 4, 5, 6, 7, 8],
            Some(b"a\nb"),
        );
        recs.extend(record(
            libc::FAN_EVENT_INFO_TYPE_NEW_DFID_NAME,
            &[9; 8],
            Some(&[0xff, b'x']),
        ));
        recs.extend(record(libc::FAN_EVENT_INFO_TYPE_FID, &[3; 12], None));
        let mut buf = metadata(24 + recs.len() as u32, libc::FAN_RENAME, -1, 42);
        buf.extend(recs);
        let (events, truncated) = parse_events(&buf);
        assert!(!truncated);
        assert_eq!(events.len(), 1);
        let e = &events[0];
        assert_eq!((e.mask, e.fd, e.pid), (libc::FAN_RENAME, -1, 42));
        assert_eq!(e.records.len(), 3);
        assert_eq!(e.records[0].name.as_deref(), Some(&b"a\nb"[..]));
        assert_eq!(e.records[1].name.as_deref(), Some(&[0xff, b'x'][..]));
        assert_eq!(e.records[1].handle.bytes, vec![9; 8]);
        assert_eq!(e.records[2].handle.fsid, [7, 9]);
        assert_eq!(e.records[2].name, None);
    }

    #[test]
    fn garbage_never_panics() {
        let mut buf = metadata(1000, 0, -1, 0);
        buf.extend([0xffu8; 40]);
        let (events, truncated) = parse_events(&buf);
        assert!(truncated);
        assert_eq!(events.len(), 1);
        for len in 0..64u32 {
            let mut b = metadata(len, libc::FAN_CREATE, -1, 1);
            b.extend([0x02, 0, 0xff, 0xff, 1, 2, 3]);
            let _ = parse_events(&b);
        }
    }

    #[test]
    fn joins_dot_as_the_directory() {
        assert_eq!(join_name(Path::new("/r"), b"."), PathBuf::from("/r"));
        assert_eq!(join_name(Path::new("/r"), b"x"), PathBuf::from("/r/x"));
    }
}
