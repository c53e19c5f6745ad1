//! The catalog's key layout (see the table in the module above): one prefix byte per kind of entry.

pub(super) const FILE: u8 = b'f';
pub(super) const PATH: u8 = b'p';
pub(super) const INODE: u8 = b'i';
pub(super) const GENERATION: &[u8] = b"mgeneration";
pub(super) const ROOTS: &[u8] = b"mroots";
/// Present once every record carries its owner (see [`super::Catalog::owners_counted`]).
pub(super) const OWNERS_COUNTED: &[u8] = b"mowners";
pub(super) const OWNER_TOTAL: u8 = b'u';
/// Present once records hold volume keys, not `st_dev` (see [`super::Catalog::volumes_keyed`]).
pub(super) const VOLUMES_KEYED: &[u8] = b"mvolumes";

pub(super) fn owner_key(uid: u32) -> [u8; 5] {
    let mut k = [OWNER_TOTAL; 5];
    k[1..].copy_from_slice(&uid.to_be_bytes());
    k
}

pub(super) fn file_key(id: u64) -> [u8; 9] {
    let mut k = [FILE; 9];
    k[1..].copy_from_slice(&id.to_be_bytes());
    k
}

pub(super) fn path_key(path: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(path.len() + 1);
    k.push(PATH);
    k.extend_from_slice(path);
    k
}

pub(super) fn inode_prefix(dev: u64, ino: u64) -> [u8; 17] {
    let mut k = [INODE; 17];
    k[1..9].copy_from_slice(&dev.to_be_bytes());
    k[9..].copy_from_slice(&ino.to_be_bytes());
    k
}

pub(super) fn inode_key(dev: u64, ino: u64, id: u64) -> [u8; 25] {
    let mut k = [0; 25];
    k[..17].copy_from_slice(&inode_prefix(dev, ino));
    k[17..].copy_from_slice(&id.to_be_bytes());
    k
}

pub(super) fn id_of(bytes: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(bytes.try_into().ok()?))
}

/// Prefix of the per-root volume records.
pub(super) const ROOT_VOLUME: u8 = b'r';

pub(super) fn root_volume_key(root: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(root.len() + 1);
    k.push(ROOT_VOLUME);
    k.extend_from_slice(root);
    k
}
